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
 * Opens a new workflow, opens the node panel ("Add first step") and searches it, as a user looking
 * for a node does. Returns the names of the nodes the panel lists.
 */
export async function searchNodePanel(page: Page, baseUrl: string, query: string): Promise<string[]> {
	await page.goto(`${baseUrl}/workflow/new`);
	await page.click('[data-test-id=canvas-plus-button]');
	const names = page.locator('[data-test-id=node-creator-node-item] [data-test-id=node-creator-item-name]');
	await names.first().waitFor();
	const before = (await names.allTextContents()).join('|');
	await page.locator('input[data-test-id=node-creator-search-bar]').fill(query);
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
