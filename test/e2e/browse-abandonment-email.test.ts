import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { SETTLE_MS } from '../../nodes/shared/store/recommendations.ts';
import { startTestInstance } from '../harness/instance.ts';
import { type N8nInstance, trackingTriggerNode, type WorkflowJson } from '../harness/n8n.ts';
import { repoRoot } from '../harness/paths.ts';
import { decoded, TestSmtpServer } from '../harness/smtp.ts';

const WRITE_KEY = `wk_${randomBytes(16).toString('hex')}`;
const DAY = 86_400_000;

const shipped = (file: string) => {
	const workflow = JSON.parse(readFileSync(path.join(repoRoot(), 'workflows', file), 'utf8')) as WorkflowJson;
	const node = (name: string) => workflow.nodes.find((n) => n.name === name) as unknown as { parameters: Record<string, unknown>; credentials?: unknown };
	return { workflow, node };
};

/**
 * The shipped catalogue, browse-abandonment and cross-sell workflows in a real n8n, on its embedded
 * store: the feed imported from a file the test serves, other shoppers' histories tracked,
 * recommendations refreshed, then people browse or buy and get the emails over SMTP.
 */
describe('emails with recommendations from the catalogue in a real n8n: browse abandonment, post-purchase cross-sell', () => {
	let n8n: N8nInstance & { dispose(): Promise<void> };
	const smtp = new TestSmtpServer();
	let smtpPort: number;
	let feedServer: Server;
	let feedUrl: string;
	/** The credentials the first test creates; the second runs on the same n8n and store. */
	let source: string;
	let mail: string;
	let unsubscribe: string;

	beforeAll(async () => {
		smtpPort = await smtp.start();
		const feed = readFileSync(path.join(__dirname, '../fixtures/tea-shop/feed.xml'));
		feedServer = createServer((request, response) => {
			if (request.url === '/feeds/google.xml') response.writeHead(200, { 'content-type': 'application/xml' }).end(feed);
			else response.writeHead(404).end();
		});
		await new Promise<void>((resolve) => feedServer.listen(0, '127.0.0.1', resolve));
		feedUrl = `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}/feeds/google.xml`;
		// The n8n started here must use the store under its own user folder, as a user's would.
		delete process.env.RETARGETING_SQLITE_FILE;
		n8n = await startTestInstance();
	}, 300_000);

	afterAll(async () => {
		await n8n?.dispose();
		await smtp.stop();
		await new Promise((resolve) => feedServer?.close(resolve));
	}, 60_000);

	it("emails each browser once, with the viewed product and its neighbours: never a product out of stock, without an image, viewed, or bought by the person", async () => {
		source = await n8n.createCredential('retargetingTrackingApi', 'Shop', { writeKey: WRITE_KEY });
		mail = await n8n.createCredential('retargetingSmtpApi', 'Mail', { host: '127.0.0.1', port: smtpPort, secure: false });
		unsubscribe = await n8n.createCredential('retargetingUnsubscribeApi', 'Unsubscribe page', {
			publicUrl: `${n8n.baseUrl}/webhook/unsubscribe`,
			secret: randomBytes(24).toString('hex'),
			shopName: 'The Shop',
			backUrl: 'https://shop.test',
		});
		await n8n.publishWorkflow({ name: 'Collect', nodes: [trackingTriggerNode('shop', { id: source, name: 'Shop' })], connections: {} });
		await n8n.waitForWebhook('shop');

		// A month of other shoppers: tea people view and buy teaware and tea together (the whisk and the
		// gift card with them), coffee people the coffee things; coffee beans sell the most.
		const now = Date.now();
		const at = (daysAgo: number) => new Date(now - daysAgo * DAY).toISOString();
		const viewed = (who: string, daysAgo: number, ...products: string[]) =>
			products.map((product_id, k) => ({ type: 'track', event: 'Product Viewed', anonymousId: who, timestamp: at(daysAgo - k / 1000), properties: { product_id } }));
		const ordered = (who: string, daysAgo: number, ...products: string[]) => ({
			type: 'track',
			event: 'Order Completed',
			anonymousId: who,
			timestamp: at(daysAgo),
			properties: { order_id: `o-${who}`, revenue: 30, currency: 'EUR', products: products.map((product_id) => ({ product_id, quantity: 1, price: 10 })) },
		});
		const tea = ['teapot', 'earl-grey', 'sencha', 'infuser', 'tea-cups'];
		const history = [
			...[1, 2, 3, 4, 5, 6].flatMap((n) => [
				...viewed(`tea-${n}`, 20 - n, ...tea.filter((_, k) => k !== n % tea.length), ...(n % 2 ? ['matcha-whisk', 'gift-card'] : [])),
				ordered(`tea-${n}`, 19 - n, tea[n % tea.length], tea[(n + 1) % tea.length]),
			]),
			...[1, 2, 3, 4, 5, 6, 7, 8].flatMap((n) => [...viewed(`coffee-${n}`, 20 - n, 'french-press', 'coffee-beans', 'grinder'), ordered(`coffee-${n}`, 19 - n, 'coffee-beans', 'french-press')]),
		];
		// Ada and Bea accept email; Bea bought a tea infuser last month.
		const person = (who: string, name: string) => ({ type: 'identify', anonymousId: who, timestamp: at(45), traits: { email: `${who}@example.com`, first_name: name }, context: { consent: { email: true } } });
		const people = [person('ada', 'Ada'), person('bea', 'Bea'), ordered('bea', 40, 'infuser')];
		expect(await n8n.track('shop', WRITE_KEY, [...history, ...people])).toMatchObject({ accepted: history.length + people.length, rejected: 0 });
		const trackedAt = Date.now();

		// The shipped catalogue workflow, its feed URL pointed at the file the test serves; each schedule run now.
		const catalogue = shipped('catalogue.json');
		catalogue.node('Import the product feed').parameters.feedUrl = feedUrl;
		const catalogueId = await n8n.createWorkflow({ name: catalogue.workflow.name, nodes: catalogue.workflow.nodes, connections: catalogue.workflow.connections, settings: catalogue.workflow.settings });
		const imported = await n8n.waitForExecution(await n8n.runWithPinnedTrigger(catalogueId, 'Every night at 4:00', [{ json: {} }]), 60_000);
		expect(imported.data?.resultData.error?.message).toBeUndefined();
		expect(imported.data!.resultData.runData['Import the product feed'][0].data!.main[0]![0].json).toMatchObject({ format: 'xml', rows: 10, imported: 10, refusedCount: 0 });
		// A refresh reads the events received more than a minute before it: the hourly run comes after.
		await sleep(Math.max(0, trackedAt + SETTLE_MS + 1000 - Date.now()));
		const refreshed = await n8n.waitForExecution(await n8n.runWithPinnedTrigger(catalogueId, 'Every hour', [{ json: {} }]), 60_000);
		expect(refreshed.data?.resultData.error?.message).toBeUndefined();
		expect(refreshed.data!.resultData.runData['Refresh recommendations'][0].data!.main[0]![0].json).toMatchObject({ events: history.length + 1 });

		// The shipped browse-abandonment workflow, with its Wait at 4 seconds, its credentials set and the holdout off.
		const browse = shipped('browse-abandonment-email.json');
		browse.node('Product Viewed').credentials = { retargetingTrackingApi: { id: source, name: 'Shop' } };
		browse.node('Wait 1 hour').parameters = { amount: 4, unit: 'seconds' };
		browse.node('Browsed, no cart?').parameters.holdoutPercent = 0;
		browse.node('ESP Send').credentials = { retargetingSmtpApi: { id: mail, name: 'Mail' }, retargetingUnsubscribeApi: { id: unsubscribe, name: 'Unsubscribe page' } };
		const browseId = await n8n.publishWorkflow({ name: browse.workflow.name, nodes: browse.workflow.nodes, connections: browse.workflow.connections });
		await n8n.waitForWebhook('browse-email');

		// Each views the teapot, then the Earl Grey: two page loads, two executions each.
		const view = (who: string, product_id: string, name: string) => ({
			type: 'track',
			event: 'Product Viewed',
			anonymousId: who,
			properties: { product_id, name, url: `https://shop.test/p/${product_id}`, image_url: `https://shop.test/i/${product_id}.jpg` },
		});
		for (const who of ['ada', 'bea']) {
			expect(await n8n.track('browse-email', WRITE_KEY, [view(who, 'teapot', 'Cast-iron teapot')])).toMatchObject({ accepted: 1 });
			await sleep(500);
			expect(await n8n.track('browse-email', WRITE_KEY, [view(who, 'earl-grey', 'Earl Grey, loose leaf')])).toMatchObject({ accepted: 1 });
		}
		const executions = await n8n.waitForExecutions(browseId, 4, 60_000);
		expect(executions.map((e) => e.data?.resultData.error?.message ?? e.status)).toEqual(['success', 'success', 'success', 'success']);
		await smtp.waitFor(2, 10_000);
		const out = (name: string) => executions.flatMap((e) => e.data!.resultData.runData[name]?.[0].data?.main[0]?.map((i) => i.json) ?? []);

		// One email each: the later view is stopped by the Segment Filter's cap or by ESP Send's key (person and day).
		const sends = out('ESP Send').map((j) => j.send as { status: string; to: string; reason?: string });
		expect(sends.filter((s) => s.status === 'sent').map((s) => s.to).sort()).toEqual(['ada@example.com', 'bea@example.com']);
		expect(smtp.messages.map((m) => m.to[0]).sort()).toEqual(['ada@example.com', 'bea@example.com']);

		// Neighbours of what they viewed; the whisk (out of stock), the gift card (no image) and the
		// viewed products never; Bea's infuser, which she bought, not for her. Popular coffee fills the list.
		const recommended = (who: string) => {
			const item = out('You may also like').find((j) => (j.profile as { email: string }).email === `${who}@example.com`)!;
			return (item.recommendations as Array<{ productId: string }>).map((p) => p.productId);
		};
		expect(recommended('ada')).toHaveLength(4);
		expect(recommended('ada').slice(0, 3).sort()).toEqual(['infuser', 'sencha', 'tea-cups']);
		expect(recommended('bea').slice(0, 2).sort()).toEqual(['sencha', 'tea-cups']);
		expect(recommended('bea')).not.toContain('infuser');
		for (const who of ['ada', 'bea']) {
			for (const never of ['teapot', 'earl-grey', 'matcha-whisk', 'gift-card']) expect(recommended(who)).not.toContain(never);
			expect(['coffee-beans', 'french-press']).toContain(recommended(who).at(-1));
		}

		const email = (who: string) => decoded(smtp.messages.find((m) => m.to[0] === `${who}@example.com`)!.raw);
		const ada = email('ada');
		expect(ada).toMatch(/Subject: Ada, still thinking about (Cast-iron teapot|Earl Grey, loose leaf)\?/);
		expect(ada).toMatch(/You were looking at <strong>(Cast-iron teapot|Earl Grey, loose leaf)<\/strong>/);
		expect(ada).toMatch(/href="https:\/\/shop\.test\/p\/(teapot|earl-grey)\?utm_source=smtp&amp;utm_medium=email&amp;utm_campaign=browse-email&amp;rt_cid=[0-9a-f]{16}"/);
		expect(ada).toContain('<h3>You may also like</h3>');
		// Recommended products link to their pages tagged as the email's, so that a click is attributed to it.
		const tagged = (product: string) => `https:\\/\\/shop\\.test\\/p\\/${product}\\?utm_source=smtp&amp;utm_medium=email&amp;utm_campaign=browse-email&amp;utm_content=recommendations&amp;rt_cid=[0-9a-f]{16}`;
		expect(ada).toMatch(new RegExp(`<a href="${tagged('sencha')}"><img src="https://shop\\.test/i/sencha\\.jpg" width="96" height="96" alt="Sencha green tea"`));
		expect(ada).toMatch(new RegExp(`<a href="${tagged('tea-cups')}">Tea cups, set of 2</a></td><td style="text-align:right">€19\\.00</td>`));
		expect(ada).toContain('https://shop.test/p/infuser');
		const bea = email('bea');
		expect(bea).toContain('https://shop.test/p/sencha');
		expect(bea).not.toContain('infuser');
		for (const message of [ada, bea]) {
			for (const never of ['matcha', 'gift-card', 'Gift card']) expect(message).not.toContain(never);
		}
	}, 300_000);

	it('after an order, the cross-sell email shows what others bought with it; the same order sent twice gives one email', async () => {
		const cross = shipped('post-purchase-cross-sell.json');
		cross.node('Order Completed').credentials = { retargetingTrackingApi: { id: source, name: 'Shop' } };
		cross.node('Wait 3 days').parameters = { amount: 4, unit: 'seconds' };
		cross.node('Emailable?').parameters.holdoutPercent = 0;
		cross.node('ESP Send').credentials = { retargetingSmtpApi: { id: mail, name: 'Mail' }, retargetingUnsubscribeApi: { id: unsubscribe, name: 'Unsubscribe page' } };
		const crossId = await n8n.publishWorkflow({ name: cross.workflow.name, nodes: cross.workflow.nodes, connections: cross.workflow.connections });
		await n8n.waitForWebhook('cross-sell');
		const before = smtp.messages.length;

		// Ada buys the teapot; the shop sends the order again (another message ID, the same order).
		const order = { type: 'track', event: 'Order Completed', anonymousId: 'ada', properties: { order_id: 'o-ada', revenue: 45, currency: 'EUR', products: [{ product_id: 'teapot', quantity: 1, price: 45 }] } };
		expect(await n8n.track('cross-sell', WRITE_KEY, [order])).toMatchObject({ accepted: 1 });
		expect(await n8n.track('cross-sell', WRITE_KEY, [order])).toMatchObject({ accepted: 1 });
		const executions = await n8n.waitForExecutions(crossId, 2, 60_000);
		expect(executions.map((e) => e.data?.resultData.error?.message ?? e.status)).toEqual(['success', 'success']);
		await smtp.waitFor(before + 1, 10_000);
		const sends = executions.flatMap((e) => e.data!.resultData.runData['ESP Send'][0].data!.main[0]!.map((i) => i.json.send as { status: string; reason?: string }));
		expect(sends.map((s) => s.status).sort()).toEqual(['sent', 'skipped']);
		expect(smtp.messages.slice(before).map((m) => m.to)).toEqual([['ada@example.com']]);

		// Bought with the teapot by others: the tea cups and the Earl Grey; never the teapot itself.
		const recommended = executions[0].data!.resultData.runData['Goes well with the order'][0].data!.main[0]![0].json.recommendations as Array<{ productId: string }>;
		expect(recommended.slice(0, 2).map((p) => p.productId).sort()).toEqual(['earl-grey', 'tea-cups']);
		const email = decoded(smtp.messages[before].raw);
		expect(email).toContain('Subject: Ada, these go well with your order');
		expect(email).toContain('<img src="https://shop.test/i/tea-cups.jpg"');
		expect(email).toContain('<img src="https://shop.test/i/earl-grey.jpg"');
		expect(email).not.toContain('https://shop.test/p/teapot');
	}, 120_000);
});
