import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';

import type { Browser } from 'playwright-core';

import type { TrackedEvent } from '../../nodes/shared/events/model.ts';
import { SqliteDriver } from '../../nodes/shared/store/sqlite-driver.ts';
import { launchBrowser } from '../harness/editor.ts';
import { startTestInstance } from '../harness/instance.ts';
import { freePort, type N8nInstance } from '../harness/n8n.ts';
import { repoRoot } from '../harness/paths.ts';

const WRITE_KEY = `wk_${randomBytes(16).toString('hex')}`;

/** The demo shop: two pages that load tracker.js from the n8n under test. */
async function startShop(trackerUrl: string): Promise<{ server: Server; origin: string }> {
	const page = (name: string) =>
		readFileSync(path.join(repoRoot(), 'test', 'fixtures', 'demo-shop', `${name}.html`), 'utf8').replace('{{TRACKER_URL}}', trackerUrl);
	const port = await freePort();
	const server = createServer((req, res) => {
		const name = req.url?.startsWith('/checkout') ? 'checkout' : req.url?.startsWith('/product') ? 'product' : undefined;
		if (!name) {
			res.writeHead(404).end();
			return;
		}
		res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(name));
	});
	await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
	return { server, origin: `http://127.0.0.1:${port}` };
}

/** The snippet's stub queues calls in `rt.q` until tracker.js has loaded and replaced it. */
const trackerLoaded = () => {
	const rt = (globalThis as { rt?: ((...args: unknown[]) => void) & { q?: unknown } }).rt;
	return typeof rt === 'function' && rt.q === undefined;
};

describe('tracker.js in Chromium on a demo shop', () => {
	let n8n: N8nInstance & { dispose(): Promise<void> };
	let shop: { server: Server; origin: string };
	let browser: Browser;

	beforeAll(async () => {
		n8n = await startTestInstance();
		const trackerUrl = `${n8n.baseUrl}/webhook/shop-browser/tracker.js?writeKey=${WRITE_KEY}`;
		shop = await startShop(trackerUrl);
		const credential = await n8n.createCredential('retargetingTrackingApi', 'Demo shop', { writeKey: WRITE_KEY, allowedOrigins: shop.origin });
		await n8n.publishWorkflow({
			name: 'Demo shop',
			nodes: [
				{
					id: 'c1b2c3d4-0000-4000-8000-000000000001',
					name: 'Tracking Trigger',
					type: 'n8n-nodes-retargeting.trackingTrigger',
					typeVersion: 1,
					position: [0, 0],
					parameters: { path: 'shop-browser' },
					credentials: { retargetingTrackingApi: { id: credential, name: 'Demo shop' } },
				},
			],
			connections: {},
		});
		await n8n.waitForWebhook('shop-browser');
		browser = await launchBrowser();
	}, 300_000);

	afterAll(async () => {
		await browser?.close();
		shop?.server.close();
		await n8n?.dispose();
	}, 60_000);

	it('sends a visit (product view, add to cart, checkout, leave) under one anonymous id with the UTM fields', async () => {
		const page = await browser.newPage();
		await page.goto(`${shop.origin}/product?utm_source=newsletter&utm_medium=email&utm_campaign=spring&gclid=G-123`);
		await page.waitForFunction(trackerLoaded);
		await page.click('#add');
		await page.click('#checkout');
		await page.waitForURL('**/checkout');
		await page.waitForFunction(trackerLoaded);
		// Leaving for another site: the page hides, and tracker.js flushes what it holds with sendBeacon.
		// (The tab stays open: closing it at once could abort the beacon in a headless browser.)
		await page.goto('about:blank');

		// The trigger creates and migrates the store on its first request, which may still be on its way.
		const file = path.join(n8n.userFolder, '.n8n', 'retargeting', 'store.sqlite');
		let db: SqliteDriver | undefined;
		try {
			let events: TrackedEvent[] = [];
			for (let attempt = 0; attempt < 100 && events.length < 5; attempt++) {
				await new Promise((resolve) => setTimeout(resolve, 200));
				if (!existsSync(file)) continue;
				db ??= new SqliteDriver(file);
				const rows = await db.all<{ body: string }>('SELECT body FROM rt_events ORDER BY timestamp').catch(() => []);
				events = rows.map((r) => JSON.parse(r.body) as TrackedEvent);
			}
			expect(events.map((e) => e.event ?? e.type)).toEqual(
				expect.arrayContaining(['Product Viewed', 'Product Added', 'Checkout Started']),
			);
			expect(events.filter((e) => e.type === 'page')).toHaveLength(2);
			expect(new Set(events.map((e) => e.anonymousId)).size).toBe(1);
			for (const event of events) {
				expect(event.context.campaign).toEqual({ source: 'newsletter', medium: 'email', name: 'spring' });
				expect(event.context.clickIds).toEqual({ gclid: 'G-123' });
			}
			const checkout = events.find((e) => e.event === 'Checkout Started');
			expect(checkout?.context.page?.url).toBe(`${shop.origin}/checkout`);
			const [cart] = await db!.all<{ status: string; value: number }>('SELECT status, value FROM rt_carts WHERE id = ?', ['cart-9']);
			expect(cart).toMatchObject({ status: 'open', value: 12.5 });
		} finally {
			await db?.close();
			await page.close();
		}
	}, 60_000);
});
