import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { sha256Hex } from '../../nodes/shared/audiences/identifiers.ts';
import { AudienceStandIn } from '../harness/audience-stand-in.ts';
import type { N8nInstance, WorkflowJson } from '../harness/n8n.ts';
import { repoRoot } from '../harness/paths.ts';
import { startTestInstance } from '../harness/instance.ts';

const WRITE_KEY = `wk_${randomBytes(16).toString('hex')}`;

describe('Banner Partner Push in a real n8n: the shipped browse-abandonment workflow against a Criteo stand-in', () => {
	let n8n: N8nInstance & { dispose(): Promise<void> };
	const criteo = new AudienceStandIn('criteo');
	let criteoUrl: string;
	/** The Criteo credential the first test creates; the erasure workflow uses it too. */
	let partner: string;

	beforeAll(async () => {
		criteoUrl = await criteo.start();
		n8n = await startTestInstance();
	}, 300_000);

	afterAll(async () => {
		await n8n?.dispose();
		await criteo.stop();
	}, 60_000);

	it('a browser with ad consent who added nothing joins the audience after the wait; a buyer is burned, after n8n renews the expired OAuth2 token; nobody else is sent', async () => {
		const source = await n8n.createCredential('retargetingTrackingApi', 'Shop', { writeKey: WRITE_KEY });
		// OAuth2 client credentials: n8n fetches the token from the stand-in's token endpoint itself.
		partner = await n8n.createCredential('retargetingCriteoOAuth2Api', 'Criteo', {
			clientId: criteo.clientId,
			clientSecret: criteo.clientSecret,
			accessTokenUrl: `${criteoUrl}/oauth2/token`,
			apiUrl: criteoUrl,
		});
		const template = JSON.parse(readFileSync(path.join(repoRoot(), 'workflows', 'browse-abandonment-banners.json'), 'utf8')) as WorkflowJson;
		const node = (name: string) => template.nodes.find((n) => n.name === name) as unknown as { parameters: Record<string, unknown>; credentials?: unknown };
		for (const trigger of ['Product Viewed', 'Order Completed']) node(trigger).credentials = { retargetingTrackingApi: { id: source, name: 'Shop' } };
		for (const push of ['Add to the browsers audience', 'Burn the buyer']) node(push).credentials = { retargetingCriteoOAuth2Api: { id: partner, name: 'Criteo' } };
		node('Wait 30 minutes').parameters = { amount: 4, unit: 'seconds' };
		node('Add to the browsers audience').parameters.audienceId = 'browsers';
		const workflowId = await n8n.publishWorkflow({ name: template.name, nodes: template.nodes, connections: template.connections });
		await n8n.waitForWebhook('browse');
		await n8n.waitForWebhook('orders');

		const visit = (who: string, ads: boolean | undefined, addsToCart = false) => [
			{ type: 'identify', anonymousId: who, traits: { email: `${who}@example.com` }, context: ads === undefined ? {} : { consent: { ads } } },
			{ type: 'track', event: 'Product Viewed', anonymousId: who, properties: { product_id: 'sku-1', name: 'Mug', price: 12 } },
			...(addsToCart ? [{ type: 'track', event: 'Product Added', anonymousId: who, properties: { product_id: 'sku-1', name: 'Mug', price: 12, quantity: 1 } }] : []),
		];
		// Ada browses; Bo browses and adds to his cart; Cy browses without ad consent.
		for (const batch of [visit('ada', true), visit('bo', true, true), visit('cy', undefined)]) {
			expect(await n8n.track('browse', WRITE_KEY, batch)).toMatchObject({ rejected: 0 });
		}
		const runs = await n8n.waitForExecutions(workflowId, 3, 60_000);
		expect(runs.map((r) => r.status)).toEqual(['success', 'success', 'success']);
		expect([...criteo.members('browsers')]).toEqual([sha256Hex('ada@example.com')]);
		expect(criteo.tokensIssued).toBeGreaterThanOrEqual(1);

		// Criteo's token expires (they last 15 minutes): n8n must fetch a new one on the 401 and go on.
		const issued = criteo.tokensIssued;
		criteo.expireToken();
		// Ada buys: the order's execution removes her from every Criteo audience she was added to.
		expect(await n8n.track('orders', WRITE_KEY, [{ type: 'track', event: 'Order Completed', anonymousId: 'ada', properties: { order_id: 'o-1', revenue: 12 } }])).toMatchObject({ rejected: 0 });
		await n8n.waitForExecutions(workflowId, 4, 30_000);
		for (let i = 0; i < 40 && criteo.members('browsers').size > 0; i++) await sleep(250);
		expect(criteo.members('browsers').size).toBe(0);
		expect(criteo.tokensIssued).toBe(issued + 1);
		// The removal refused with the old token, then made again with the new one.
		expect(criteo.requests.map((r) => [r.method, (r.body as { data: { attributes: { operation: string } } }).data.attributes.operation, r.count])).toEqual([
			['PATCH', 'add', 1],
			['PATCH', 'remove', 1],
			['PATCH', 'remove', 1],
		]);
		expect(criteo.shapeErrors).toEqual([]);
	}, 180_000);

	it('the shipped right-to-erasure workflow takes a person out of every Criteo audience, then erases them from the store; it refuses a request without its header', async () => {
		// Dee browses with ad consent and joins the audience through the workflow above.
		const dee = [
			{ type: 'identify', anonymousId: 'dee', traits: { email: 'dee@example.com', first_name: 'Dee' }, context: { consent: { ads: true } } },
			{ type: 'track', event: 'Product Viewed', anonymousId: 'dee', properties: { product_id: 'sku-2', price: 30 } },
		];
		expect(await n8n.track('browse', WRITE_KEY, dee)).toMatchObject({ rejected: 0 });
		for (let i = 0; i < 60 && !criteo.members('browsers').has(sha256Hex('dee@example.com')); i++) await sleep(250);
		expect([...criteo.members('browsers')]).toEqual([sha256Hex('dee@example.com')]);

		const secret = randomBytes(16).toString('hex');
		const auth = await n8n.createCredential('httpHeaderAuth', 'Erasure requests', { name: 'X-Erasure-Key', value: secret });
		const template = JSON.parse(readFileSync(path.join(repoRoot(), 'workflows', 'right-to-erasure.json'), 'utf8')) as WorkflowJson;
		const node = (name: string) => template.nodes.find((n) => n.name === name) as unknown as { credentials?: unknown };
		node('Erasure request').credentials = { httpHeaderAuth: { id: auth, name: 'Erasure requests' } };
		node('Out of every Criteo audience').credentials = { retargetingCriteoOAuth2Api: { id: partner, name: 'Criteo' } };
		await n8n.publishWorkflow({ name: template.name, nodes: template.nodes, connections: template.connections });
		await n8n.waitForWebhook('erasure');

		const request = (headers: Record<string, string>) =>
			n8n.webhook('erasure', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ email: 'Dee@Example.com' }) });
		expect((await request({})).status).toBe(403);
		expect(criteo.members('browsers').size).toBe(1);
		const answer = await request({ 'x-erasure-key': secret });
		expect(answer.status).toBe(200);
		// The burn already took the membership off the store; the erasure deletes the rest.
		expect(await answer.json()).toMatchObject({ erased: true, deleted: { rt_profiles: 1, rt_audience_members: 0, rt_identities: 2 } });
		expect(criteo.members('browsers').size).toBe(0);
		expect(criteo.requests.at(-1)).toMatchObject({ method: 'PATCH', count: 1, body: { data: { attributes: { operation: 'remove' } } } });

		const db = new DatabaseSync(path.join(n8n.userFolder, '.n8n', 'retargeting', 'store.sqlite'), { readOnly: true });
		try {
			const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rt\\_%' ESCAPE '\\'").all() as Array<{ name: string }>;
			for (const { name } of tables) {
				const text = JSON.stringify(db.prepare(`SELECT * FROM ${name}`).all());
				for (const trace of ['dee@example.com', '"dee"', 'Dee', sha256Hex('dee@example.com')]) expect({ name, trace, found: text.includes(trace) }).toEqual({ name, trace, found: false });
			}
		} finally {
			db.close();
		}
		expect(await (await request({ 'x-erasure-key': secret })).json()).toMatchObject({ erased: false });
	}, 180_000);
});
