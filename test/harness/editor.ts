import { existsSync } from 'node:fs';

import { chromium, type Browser, type Page } from 'playwright-core';

import type { Owner } from './n8n.ts';

/** Debian's Chromium (`apt-get install chromium`), or the one CHROMIUM_PATH names. */
export function chromiumPath(): string {
	const candidate = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
	if (!existsSync(candidate)) {
		throw new Error(
			`No Chromium at ${candidate}. Install Debian's package (apt-get install chromium) or set CHROMIUM_PATH.`,
		);
	}
	return candidate;
}

export async function launchBrowser(): Promise<Browser> {
	return await chromium.launch({
		executablePath: chromiumPath(),
		// Offline machine: without these Chromium keeps trying to reach Google's services.
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
}

/** A page signed in to the editor as the owner. */
export async function signedInPage(browser: Browser, baseUrl: string, owner: Owner): Promise<Page> {
	const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
	await page.goto(`${baseUrl}/signin`);
	await page.fill('input[name=emailOrLdapLoginId]', owner.email);
	await page.fill('input[name=password]', owner.password);
	await page.click('[data-test-id=form-submit-button]');
	await page.waitForURL((url) => !url.pathname.includes('signin'));
	return page;
}

/**
 * Opens the node panel and searches it, as a user looking for a node does, and returns the names of
 * the nodes it lists. On a new workflow the panel offers triggers ("Add first step"); after a node
 * of a saved workflow (`afterNodeOf`) it offers the steps that can follow.
 */
export async function searchNodePanel(
	page: Page,
	baseUrl: string,
	query: string,
	afterNodeOf?: string,
): Promise<string[]> {
	if (afterNodeOf) {
		await openWorkflow(page, baseUrl, afterNodeOf);
		await page.locator('[data-test-id=canvas-handle-plus]').first().click();
	} else {
		await page.goto(`${baseUrl}/workflow/new`);
		await page.click('[data-test-id=canvas-plus-button]');
	}
	const search = page.locator('input[data-test-id=node-creator-search-bar]');
	await search.waitFor();
	// Nodes with one operation are listed as node items, nodes with several as action items.
	const names = page.locator(
		':is([data-test-id=node-creator-node-item], [data-test-id=node-creator-action-item]) [data-test-id=node-creator-item-name]',
	);
	const before = (await names.allTextContents()).join('|');
	await search.fill(query);
	// The panel filters as the user types: wait until the list has changed and settled.
	let previous = before;
	for (let attempt = 0; attempt < 50; attempt++) {
		await page.waitForTimeout(200);
		const current = (await names.allTextContents()).join('|');
		if (current !== before && current === previous) return current.split('|').filter(Boolean);
		previous = current;
	}
	throw new Error(`the node panel did not show results for "${query}"`);
}

/** Opens a saved workflow in the editor and fits it to the view. */
export async function openWorkflow(page: Page, baseUrl: string, workflowId: string): Promise<void> {
	await page.goto(`${baseUrl}/workflow/${workflowId}`);
	await page.locator('[data-test-id=canvas-node]').first().waitFor();
	await page.click('[data-test-id=zoom-to-fit]');
	// The fit is animated.
	await page.waitForTimeout(800);
}
