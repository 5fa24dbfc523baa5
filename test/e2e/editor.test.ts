import { readFileSync } from 'node:fs';

import type { Browser, Page } from 'playwright-core';

import { launchBrowser, searchNodePanel, signedInPage } from '../harness/editor.ts';
import { startTestInstance, TEST_OWNER } from '../harness/instance.ts';
import type { N8nInstance, WorkflowJson } from '../harness/n8n.ts';

describe('the n8n editor in Chromium', () => {
	let n8n: N8nInstance & { dispose(): Promise<void> };
	let browser: Browser;
	let page: Page;

	beforeAll(async () => {
		n8n = await startTestInstance();
		browser = await launchBrowser();
		page = await signedInPage(browser, n8n.baseUrl, TEST_OWNER);
	}, 300_000);

	afterAll(async () => {
		await browser?.close();
		await n8n?.dispose();
	}, 60_000);

	it('offers the Tracking Trigger in the node panel, with its description', async () => {
		expect(await searchNodePanel(page, n8n.baseUrl, 'Tracking')).toContain('Tracking Trigger');
		await expect(
			page.locator('[data-test-id=node-creator-item-description]').first().textContent(),
		).resolves.toContain('Collects tracking events');
	}, 60_000);

	it('finds it under its aliases too (a marketer searching "pixel")', async () => {
		expect(await searchNodePanel(page, n8n.baseUrl, 'pixel')).toContain('Tracking Trigger');
	}, 60_000);

	it('offers the Retargeting Profile and the Segment Filter as next steps in the shipped workflow', async () => {
		const template = JSON.parse(readFileSync('workflows/collect-tracking-events.json', 'utf8')) as WorkflowJson;
		const id = await n8n.createWorkflow(template);
		expect(await searchNodePanel(page, n8n.baseUrl, 'Retargeting', id)).toEqual(expect.arrayContaining(['Retargeting Profile', 'Segment Filter']));
	}, 60_000);
});
