import { randomBytes } from 'node:crypto';
import path from 'node:path';

import { signBody } from '../../nodes/shared/secrets.ts';
import { SqliteDriver } from '../../nodes/shared/store/sqlite-driver.ts';
import type { N8nInstance, WorkflowJson } from '../harness/n8n.ts';
import { startTestInstance } from '../harness/instance.ts';

const WRITE_KEY = `wk_${randomBytes(16).toString('hex')}`;
const SIGNED_KEY = `wk_${randomBytes(16).toString('hex')}`;
const HMAC_SECRET = randomBytes(24).toString('hex');
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

function workflow(name: string, credentialId: string, webhookPath: string, parameters: Record<string, unknown> = {}): WorkflowJson {
	return {
		name,
		nodes: [
			{
				id: `b1b2c3d4-0000-4000-8000-${randomBytes(6).toString('hex')}`,
				name: 'Tracking Trigger',
				type: 'n8n-nodes-retargeting.trackingTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: { path: webhookPath, ...parameters },
				credentials: { retargetingTrackingApi: { id: credentialId, name: 'source' } },
			},
			{
				id: `b1b2c3d4-0000-4000-8000-${randomBytes(6).toString('hex')}`,
				name: 'No Operation',
				type: 'n8n-nodes-base.noOp',
				typeVersion: 1,
				position: [220, 0],
				parameters: {},
			},
		],
		connections: { 'Tracking Trigger': { main: [[{ node: 'No Operation', type: 'main', index: 0 }]] } },
	};
}

let seq = 0;
const view = (anonymousId: string) => ({
	type: 'track',
	event: 'Product Viewed',
	anonymousId,
	messageId: `e2e-${++seq}`,
	properties: { product_id: 'sku-1', price: 10 },
});

describe('the Tracking Trigger in a real n8n', () => {
	let n8n: N8nInstance & { dispose(): Promise<void> };
	let store: SqliteDriver | undefined;
	// The trigger creates the store file on its first request.
	const db = () => (store ??= new SqliteDriver(path.join(n8n.userFolder, '.n8n', 'retargeting', 'store.sqlite')));
	let shopId: string;

	const post = async (webhookPath: string, body: unknown, headers: Record<string, string> = {}) =>
		await n8n.webhook(webhookPath, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: basic(WRITE_KEY), ...headers },
			body: typeof body === 'string' ? body : JSON.stringify(body),
		});
	const storedCount = async (like: string) =>
		Number((await db().all<{ n: number }>('SELECT COUNT(*) AS n FROM rt_events WHERE message_id LIKE ?', [like]))[0].n);

	beforeAll(async () => {
		n8n = await startTestInstance();
		const source = await n8n.createCredential('retargetingTrackingApi', 'Shop source', { writeKey: WRITE_KEY, allowedOrigins: 'https://shop.test' });
		const signed = await n8n.createCredential('retargetingTrackingApi', 'Signed source', { writeKey: SIGNED_KEY, hmacSecret: HMAC_SECRET });
		shopId = await n8n.publishWorkflow(workflow('Shop', source, 'shop'));
		await n8n.publishWorkflow(workflow('Server', signed, 'server', { triggerOn: ['*'], options: { futureMarginMinutes: 10 } }));
		await n8n.waitForWebhook('shop');
		await n8n.waitForWebhook('server');
	}, 300_000);

	afterAll(async () => {
		await store?.close();
		await n8n?.dispose();
	}, 60_000);

	it('stores collected-only events and starts no execution for them', async () => {
		const before = (await n8n.executions(shopId)).length;
		const res = await post('shop', { batch: [view('a-collect'), view('a-collect')] });
		expect(res.status).toBe(200);
		expect(await res.json()).toMatchObject({ accepted: 2, duplicates: 0, rejected: 0 });
		const [row] = await db().all<{ n: number }>('SELECT COUNT(*) AS n FROM rt_events WHERE anonymous_id = ?', ['a-collect']);
		expect(Number(row.n)).toBe(2);
		await new Promise((resolve) => setTimeout(resolve, 1500));
		expect((await n8n.executions(shopId)).length).toBe(before);
	});

	it('starts one execution per request with one item per selected event', async () => {
		const before = (await n8n.executions(shopId)).length;
		const batch = [
			view('a-buyer'),
			{ type: 'track', event: 'Checkout Started', anonymousId: 'a-buyer', messageId: `e2e-${++seq}`, properties: { cart_id: 'c-1', value: 20 } },
			{ type: 'identify', anonymousId: 'a-buyer', userId: 'u-buyer', messageId: `e2e-${++seq}`, traits: { email: 'buyer@example.com' } },
			{ type: 'track', event: 'Order Completed', userId: 'u-buyer', messageId: `e2e-${++seq}`, properties: { order_id: 'o-1', revenue: 20, cart_id: 'c-1' } },
		];
		const res = await post('shop', { batch });
		expect(await res.json()).toMatchObject({ accepted: 4 });
		const executions = await n8n.waitForExecutions(shopId, before + 1);
		await new Promise((resolve) => setTimeout(resolve, 1500));
		expect((await n8n.executions(shopId)).length).toBe(before + 1);
		const items = executions[0].data?.resultData.runData['No Operation'][0].data?.main[0]?.map((i) => i.json) ?? [];
		expect(items.map((j) => j.event ?? j.type)).toEqual(['Checkout Started', 'identify', 'Order Completed']);
		// Identity stitching: all three belong to the one person.
		expect(new Set(items.map((j) => j.profileId)).size).toBe(1);
	});

	it('refuses a wrong write key with 401 and stores nothing', async () => {
		const event = view('a-intruder');
		const res = await post('shop', event, { authorization: basic('wrong-key-wrong-key') });
		expect(res.status).toBe(401);
		expect(await storedCount(event.messageId)).toBe(0);
	});

	it('refuses a missing or bad HMAC signature with 401, and accepts a good one', async () => {
		const body = JSON.stringify(view('a-server'));
		const unsigned = await post('server', body, { authorization: basic(SIGNED_KEY) });
		expect(unsigned.status).toBe(401);
		const forged = await post('server', body, { authorization: basic(SIGNED_KEY), 'x-retargeting-signature': signBody(body, 'not-the-secret') });
		expect(forged.status).toBe(401);
		expect(((await forged.json()) as { error: string }).error).toMatch(/signature does not match/);
		const stale = await post('server', body, {
			authorization: basic(SIGNED_KEY),
			'x-retargeting-signature': signBody(body, HMAC_SECRET, Math.floor(Date.now() / 1000) - 3600),
		});
		expect(stale.status).toBe(401);
		const good = await post('server', body, { authorization: basic(SIGNED_KEY), 'x-retargeting-signature': signBody(body, HMAC_SECRET) });
		expect(good.status).toBe(200);
		expect(await good.json()).toMatchObject({ accepted: 1 });
	});

	it('stores 49 of a batch of 50 with one bad event, and reports that one with its reason', async () => {
		const batch: Array<Record<string, unknown>> = Array.from({ length: 50 }, () => view('a-batch'));
		batch[17] = { ...batch[17], properties: { product_id: 'sku-1', price: 'ten' } };
		const res = await post('shop', { batch });
		expect(res.status).toBe(200);
		const report = (await res.json()) as { rejections: unknown[] };
		expect(report).toMatchObject({ accepted: 49, duplicates: 0, rejected: 1 });
		expect(report.rejections).toEqual([
			{ index: 17, messageId: batch[17].messageId, errors: [{ field: 'properties.price', reason: 'must be a number' }] },
		]);
		const [row] = await db().all<{ n: number }>('SELECT COUNT(*) AS n FROM rt_events WHERE anonymous_id = ?', ['a-batch']);
		expect(Number(row.n)).toBe(49);
	});

	it('reports a replayed batch as duplicates', async () => {
		const batch = [view('a-replay'), view('a-replay')];
		await post('shop', { batch });
		expect(await (await post('shop', { batch })).json()).toMatchObject({ accepted: 0, duplicates: 2, rejected: 0 });
	});

	it('stores an event dated beyond the future margin at its receipt time, keeps the sent time and notes it', async () => {
		const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
		const ahead = { ...view('a-clock'), timestamp: inMinutes(180) };
		const soon = { ...view('a-clock'), timestamp: inMinutes(30) };
		const res = await post('shop', { batch: [soon, ahead] });
		expect(res.status).toBe(200);
		expect(await res.json()).toMatchObject({
			accepted: 2,
			notes: [{ index: 1, messageId: ahead.messageId, note: 'timestamp in the future by 3h; stored at receipt time' }],
		});
		const rows = await db().all<{ message_id: string; timestamp: string; received_at: string; body: string }>(
			'SELECT message_id, timestamp, received_at, body FROM rt_events WHERE anonymous_id = ?',
			['a-clock'],
		);
		const byId = new Map(rows.map((row) => [row.message_id, row]));
		expect(byId.get(ahead.messageId)?.timestamp).toBe(byId.get(ahead.messageId)?.received_at);
		expect(JSON.parse(byId.get(ahead.messageId)?.body ?? '{}').originalTimestamp).toBe(ahead.timestamp);
		expect(byId.get(soon.messageId)?.timestamp).toBe(soon.timestamp);

		// The server source's margin is 10 minutes (Options → Future Timestamp Margin).
		const body = JSON.stringify({ ...view('a-clock-server'), timestamp: inMinutes(30) });
		const signed = await post('server', body, { authorization: basic(SIGNED_KEY), 'x-retargeting-signature': signBody(body, HMAC_SECRET) });
		expect(await signed.json()).toMatchObject({ accepted: 1, notes: [{ index: 0, note: 'timestamp in the future by 30min; stored at receipt time' }] });
	});

	it("accepts Segment's batch path and text/plain beacons", async () => {
		const viaBatch = await post('shop/v1/batch', { batch: [view('a-segment')] });
		expect(await viaBatch.json()).toMatchObject({ accepted: 1 });
		const beacon = await n8n.webhook(`shop?writeKey=${WRITE_KEY}`, {
			method: 'POST',
			headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'https://shop.test' },
			body: JSON.stringify({ batch: [view('a-beacon')] }),
		});
		expect(beacon.status).toBe(200);
		expect(beacon.headers.get('access-control-allow-origin')).toBe('https://shop.test');
		expect(await beacon.json()).toMatchObject({ accepted: 1 });
	});

	it("receives events from Segment's own Node.js library, pointed at the trigger's URL", async () => {
		const { Analytics } = await import('@segment/analytics-node');
		const analytics = new Analytics({ writeKey: WRITE_KEY, host: n8n.baseUrl, path: '/webhook/shop/v1/batch', flushInterval: 50 });
		const errors: unknown[] = [];
		analytics.on('error', (error) => errors.push(error));
		analytics.identify({ userId: 'u-segment', traits: { email: 'segment@example.com' } });
		analytics.track({ userId: 'u-segment', event: 'Product Viewed', properties: { product_id: 'sku-seg', price: 5 } });
		await analytics.closeAndFlush();
		expect(errors).toEqual([]);
		const rows = await db().all<{ type: string; event: string | null }>('SELECT type, event FROM rt_events WHERE user_id = ? ORDER BY type', ['u-segment']);
		expect(rows).toEqual([
			{ type: 'identify', event: null },
			{ type: 'track', event: 'Product Viewed' },
		]);
	});

	it('lets n8n answer the CORS preflight of a JSON request with Basic auth', async () => {
		const res = await n8n.webhook('shop', {
			method: 'OPTIONS',
			headers: { origin: 'https://shop.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
		});
		expect(res.status).toBe(204);
		expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.test');
		expect(res.headers.get('access-control-allow-headers')).toBe('authorization,content-type');
		expect(res.headers.get('access-control-allow-methods')).toContain('POST');
	});

	it('refuses an origin that is not allowed with 403', async () => {
		const event = view('a-evil');
		const res = await n8n.webhook(`shop?writeKey=${WRITE_KEY}`, {
			method: 'POST',
			headers: { 'content-type': 'text/plain', origin: 'https://evil.test' },
			body: JSON.stringify(event),
		});
		expect(res.status).toBe(403);
		expect(await storedCount(event.messageId)).toBe(0);
	});

	it('answers a pixel hit with a 1x1 GIF that is never cached, and stores its event', async () => {
		const res = await n8n.webhook(`shop?writeKey=${WRITE_KEY}&event=Email%20Opened&anonymousId=a-pixel&messageId=px-1&utm_source=newsletter&campaign_step=2`, {
			method: 'GET',
		});
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toBe('image/gif');
		expect(res.headers.get('cache-control')).toContain('no-store');
		const gif = Buffer.from(await res.arrayBuffer());
		expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
		const [row] = await db().all<{ body: string }>('SELECT body FROM rt_events WHERE message_id = ?', ['px-1']);
		expect(JSON.parse(row.body)).toMatchObject({
			event: 'Email Opened',
			properties: { campaign_step: '2' },
			context: { campaign: { source: 'newsletter' } },
		});
	});

	it('serves tracker.js under 3 kB gzipped', async () => {
		const res = await n8n.webhook('shop/tracker.js', { method: 'GET', headers: { 'accept-encoding': 'identity' } });
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toContain('javascript');
		const script = await res.text();
		expect(script).toContain('{"gpc":true}');
		const { gzipSync } = await import('node:zlib');
		expect(gzipSync(script, { level: 9 }).length).toBeLessThan(3 * 1024);
	});

	it('refuses a body over the size limit with 413 and a clear message', async () => {
		const res = await post('shop', { batch: Array.from({ length: 1001 }, () => view('a-big')) });
		expect(res.status).toBe(413);
		expect(((await res.json()) as { error: string }).error).toMatch(/limit/);
	});
});
