import { createHmac, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { DatabaseSync } from 'node:sqlite';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { sha256Hex } from '../../nodes/shared/audiences/identifiers.ts';
import { AudienceStandIn } from '../harness/audience-stand-in.ts';
import { launchBrowser } from '../harness/editor.ts';
import { startTestInstance } from '../harness/instance.ts';
import { freePort, type N8nInstance, trackingTriggerNode, type WorkflowJson, webhookNode } from '../harness/n8n.ts';
import { repoRoot } from '../harness/paths.ts';

const WRITE_KEY = `wk_${randomBytes(16).toString('hex')}`;
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ses-events';

describe("Listening back in a real n8n: the providers' event webhooks through the shipped email-events workflow, and the consent cascade from tracker.js in Chromium", () => {
	let n8n: N8nInstance & { dispose(): Promise<void> };
	const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
	const secrets = { mandrill: randomBytes(12).toString('hex'), postmark: randomBytes(12).toString('hex'), mailjet: randomBytes(16).toString('hex'), brevo: randomBytes(16).toString('hex') };

	beforeAll(async () => {
		n8n = await startTestInstance();
		const source = await n8n.createCredential('retargetingTrackingApi', 'Shop', { writeKey: WRITE_KEY });
		await n8n.publishWorkflow({
			name: 'Collect',
			nodes: [trackingTriggerNode('shop', { id: source, name: 'Shop' })],
			connections: {},
		});
		await n8n.waitForWebhook('shop');
		const webhookCredential = async (provider: string, data: Record<string, unknown>) => ({ retargetingEmailWebhookApi: { id: await n8n.createCredential('retargetingEmailWebhookApi', provider, { provider, ...data }), name: provider } });
		const credentials: Record<string, unknown> = {
			'SendGrid events': await webhookCredential('sendgrid', { publicKey: sendgridKeys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64') }),
			'Mailchimp Transactional events': await webhookCredential('mandrill', { signingSecret: secrets.mandrill, signedUrl: `${n8n.baseUrl}/webhook/email-events/mandrill` }),
			'Amazon SES events (SNS)': await webhookCredential('ses', { topicArns: TOPIC }),
			'Postmark events': await webhookCredential('postmark', { user: 'postmark', password: secrets.postmark }),
			'Mailjet events': await webhookCredential('mailjet', { token: secrets.mailjet }),
			'Brevo events': await webhookCredential('brevo', { token: secrets.brevo }),
		};
		credentials['Unsubscribe page'] = { retargetingUnsubscribeApi: { id: await n8n.createCredential('retargetingUnsubscribeApi', 'Unsubscribe page', { publicUrl: `${n8n.baseUrl}/webhook/unsubscribe`, secret: randomBytes(24).toString('hex') }), name: 'Unsubscribe page' } };
		// The shipped workflow as a user sets it up: a credential on each trigger.
		const template = JSON.parse(readFileSync(path.join(repoRoot(), 'workflows', 'email-events.json'), 'utf8')) as WorkflowJson;
		for (const node of template.nodes) if (credentials[node.name]) (node as unknown as { credentials: unknown }).credentials = credentials[node.name];
		await n8n.publishWorkflow({ name: template.name, nodes: template.nodes, connections: template.connections });
		for (const provider of ['sendgrid', 'mandrill', 'ses', 'postmark', 'mailjet', 'brevo']) await n8n.waitForWebhook(`email-events/${provider}`);
	}, 300_000);

	afterAll(async () => {
		await n8n?.dispose();
	}, 60_000);

	const store = <T>(read: (db: DatabaseSync) => T): T => {
		const db = new DatabaseSync(path.join(n8n.userFolder, '.n8n', 'retargeting', 'store.sqlite'), { readOnly: true });
		try {
			return read(db);
		} finally {
			db.close();
		}
	};
	const person = (email: string) =>
		store((db) => {
			const row = db.prepare("SELECT p.id, p.consent, p.suppressed, p.suppressed_reason FROM rt_profiles p JOIN rt_identities i ON i.profile_id = p.id WHERE i.kind = 'email' AND i.value = ?").get(email) as { id: string; consent: string; suppressed: number; suppressed_reason: string | null };
			const touches = db.prepare('SELECT kind, source FROM rt_touchpoints WHERE profile_id = ? AND kind LIKE ? ORDER BY id').all(row.id, 'email_%') as Array<{ kind: string; source: string }>;
			return { consent: JSON.parse(row.consent) as Record<string, boolean>, suppressed: row.suppressed === 1, reason: row.suppressed_reason, touches: touches.map((t) => `${t.kind}:${t.source}`) };
		});
	const changes = () => store((db) => Number((db.prepare('SELECT (SELECT COUNT(*) FROM rt_consent_log) + (SELECT COUNT(*) FROM rt_email_events) + (SELECT COUNT(*) FROM rt_touchpoints) AS n').get() as { n: number }).n));
	const post = (provider: string, body: string, headers: Record<string, string> = {}, query = '') =>
		fetch(`${n8n.baseUrl}/webhook/email-events/${provider}${query}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
	const people = async (...names: string[]) => {
		expect(await n8n.track('shop', WRITE_KEY, names.map((name) => ({ type: 'identify', userId: name, traits: { email: `${name}@example.com` }, context: { consent: { email: true, ads: true } } })))).toMatchObject({ accepted: names.length });
	};
	const now = Math.floor(Date.now() / 1000);

	it('SendGrid: a signed batch suppresses the bounce and the complaint and logs the open; a redelivery counts once; a forged or unsigned post is refused and changes nothing', async () => {
		await people('sg-bounce', 'sg-open', 'sg-spam');
		const body = JSON.stringify([
			{ email: 'sg-bounce@example.com', timestamp: now, event: 'bounce', type: 'bounce', reason: '550 5.1.1 The email account does not exist', status: '5.1.1', sg_event_id: 'sg-ev-1', sg_message_id: 'm1.filter0001' },
			{ email: 'sg-open@example.com', timestamp: now, event: 'open', sg_event_id: 'sg-ev-2', sg_message_id: 'm2.filter0001', useragent: 'Mozilla/5.0', ip: '203.0.113.9' },
			{ email: 'sg-spam@example.com', timestamp: now, event: 'spamreport', sg_event_id: 'sg-ev-3', sg_message_id: 'm3.filter0001' },
			{ email: 'sg-open@example.com', timestamp: now, event: 'processed', sg_event_id: 'sg-ev-4', sg_message_id: 'm2.filter0001' },
		]);
		const signed = (payload: string, key = sendgridKeys.privateKey) => {
			const timestamp = String(now);
			const signature = createSign('sha256').update(timestamp + payload).sign(key).toString('base64');
			return { 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': timestamp };
		};
		const before = changes();
		const forger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
		expect((await post('sendgrid', body, signed(body, forger.privateKey))).status).toBe(401);
		expect((await post('sendgrid', body)).status).toBe(401);
		expect((await post('sendgrid', body.replace('spamreport', 'open'), signed(body))).status).toBe(401);
		expect(changes()).toBe(before);

		const first = await post('sendgrid', body, signed(body));
		expect(first.status).toBe(200);
		expect(await first.json()).toMatchObject({ received: 3, applied: 3, duplicates: 0, ignored: [{ index: 3 }] });
		expect(person('sg-bounce@example.com')).toMatchObject({ suppressed: true, reason: 'hard bounce (sendgrid)' });
		expect(person('sg-spam@example.com')).toMatchObject({ suppressed: true, reason: 'spam complaint (sendgrid)' });
		expect(person('sg-open@example.com')).toMatchObject({ suppressed: false, touches: ['email_opened:sendgrid'] });
		const again = await post('sendgrid', body, signed(body));
		expect(await again.json()).toMatchObject({ received: 3, applied: 0, duplicates: 3 });
		expect(person('sg-open@example.com').touches).toHaveLength(1);
		expect((await post('sendgrid', '{"not":"an array"}', signed('{"not":"an array"}'))).status).toBe(400);
	});

	it('Mailchimp Transactional: the signed form post withdraws consent on unsubscribe; the HEAD check answers; a wrong signature is refused', async () => {
		await people('md-unsub');
		const url = `${n8n.baseUrl}/webhook/email-events/mandrill`;
		expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
		const events = JSON.stringify([{ event: 'unsub', _id: 'md-msg-1', ts: now, msg: { email: 'md-unsub@example.com', _id: 'md-msg-1', metadata: {} } }]);
		const form = new URLSearchParams({ mandrill_events: events }).toString();
		const signature = createHmac('sha1', secrets.mandrill).update(`${url}mandrill_events${events}`).digest('base64');
		const send = (sig: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-mandrill-signature': sig }, body: form });
		const before = changes();
		expect((await send(createHmac('sha1', 'wrong-key').update(`${url}mandrill_events${events}`).digest('base64'))).status).toBe(401);
		expect(changes()).toBe(before);
		expect(person('md-unsub@example.com').consent.email).toBe(true);
		const answer = await send(signature);
		expect(answer.status).toBe(200);
		expect(await answer.json()).toMatchObject({ applied: 1 });
		expect(person('md-unsub@example.com').consent.email).toBe(false);
	});

	it('Postmark (Basic auth), Mailjet (token) and Brevo (Bearer token): bounce, complaint, three soft bounces in a row; wrong or missing credentials are refused', async () => {
		await people('pm-hard', 'mj-spam', 'bv-soft');
		const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
		// Postmark's bounce IDs pass 2^53, as in its documented example: sent as the digits it posts.
		const bounce = JSON.stringify({ RecordType: 'Bounce', ID: 0, Type: 'HardBounce', TypeCode: 1, MessageID: 'pm-msg-1', Email: 'pm-hard@example.com', BouncedAt: new Date().toISOString(), Details: 'smtp;550 5.1.1 The email account that you tried to reach does not exist', Inactive: true }).replace('"ID":0', '"ID":4323372036854775807');
		const before = changes();
		expect((await post('postmark', bounce, basic('postmark', 'wrong'))).status).toBe(401);
		expect((await post('postmark', bounce)).status).toBe(401);
		expect(changes()).toBe(before);
		expect((await post('postmark', bounce, basic('postmark', secrets.postmark))).status).toBe(200);
		expect(person('pm-hard@example.com')).toMatchObject({ suppressed: true, reason: 'hard bounce (postmark)' });

		const spam = JSON.stringify([{ event: 'spam', time: now, MessageID: 19421777835146490, Message_GUID: 'mj-guid-1', email: 'mj-spam@example.com', source: 'JMRPP' }]);
		expect((await post('mailjet', spam)).status).toBe(401);
		expect((await post('mailjet', spam, {}, `?token=${secrets.mailjet}`)).status).toBe(200);
		expect(person('mj-spam@example.com')).toMatchObject({ suppressed: true, reason: 'spam complaint (mailjet)' });

		const soft = (n: number) => JSON.stringify({ event: 'soft_bounce', email: 'bv-soft@example.com', id: 1, 'message-id': `<bv-${n}@smtp-relay.mailin.fr>`, ts_epoch: (now + n) * 1000, reason: 'mailbox full' });
		for (const n of [1, 2]) expect((await post('brevo', soft(n), { authorization: `Bearer ${secrets.brevo}` })).status).toBe(200);
		expect(person('bv-soft@example.com').suppressed).toBe(false);
		expect((await post('brevo', soft(3), { authorization: 'Bearer not-the-token' })).status).toBe(401);
		expect((await post('brevo', soft(3), { authorization: `Bearer ${secrets.brevo}` })).status).toBe(200);
		expect(person('bv-soft@example.com')).toMatchObject({ suppressed: true, reason: '3 soft bounces in a row (brevo)' });
	});

	it('Amazon SES through SNS: a message whose certificate is not on an AWS SNS host, or of another topic, is refused before anything is fetched', async () => {
		let fetched = 0;
		const port = await freePort();
		const server: Server = createServer((_req, res) => {
			fetched++;
			res.end('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
		});
		await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
		try {
			const envelope = (topic: string) =>
				JSON.stringify({
					Type: 'SubscriptionConfirmation',
					MessageId: 'b0fd3d0a-0000-4000-8000-000000000001',
					Token: 'token',
					TopicArn: topic,
					Message: 'You have chosen to subscribe to the topic',
					SubscribeURL: `http://127.0.0.1:${port}/confirm`,
					Timestamp: new Date().toISOString(),
					SignatureVersion: '1',
					Signature: Buffer.from('forged').toString('base64'),
					SigningCertURL: `http://127.0.0.1:${port}/cert.pem`,
				});
			const headers = { 'x-amz-sns-message-type': 'SubscriptionConfirmation' };
			expect((await post('ses', envelope(TOPIC), headers)).status).toBe(401);
			expect((await post('ses', envelope('arn:aws:sns:eu-west-1:999999999999:other'), headers)).status).toBe(403);
			expect(fetched).toBe(0);
		} finally {
			server.close();
		}
	});

	it("consent cascade: Zoe, in a Criteo and a Meta audience, withdraws ad consent with tracker.js in Chromium; the shipped workflow takes her out of both; the consent log shows each step, and after her erasure no personal value", async () => {
		const criteo = new AudienceStandIn('criteo');
		const meta = new AudienceStandIn('meta');
		const [criteoUrl, metaUrl] = [await criteo.start(), await meta.start()];
		const shopPort = await freePort();
		const shopOrigin = `http://127.0.0.1:${shopPort}`;
		const trackerUrl = `${n8n.baseUrl}/webhook/zoe-shop/tracker.js?writeKey=${WRITE_KEY}`;
		const shop = createServer((req, res) => {
			const withdraw = req.url?.startsWith('/withdraw');
			res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><html><head>
<script>window.rt=window.rt||function(){(rt.q=rt.q||[]).push(arguments)};</script>
<script async src="${trackerUrl}"></script>
<script>${withdraw ? "rt('consent', { ads: false }); rt('flush');" : "rt('identify', 'zoe', { email: 'Zoe@Example.com', first_name: 'Zoe' }); rt('consent', { email: true, ads: true }); rt('flush');"}</script>
</head><body>shop</body></html>`);
		});
		await new Promise<void>((resolve) => shop.listen(shopPort, '127.0.0.1', resolve));
		const browser = await launchBrowser();
		try {
			const source = await n8n.createCredential('retargetingTrackingApi', 'Zoe shop', { writeKey: WRITE_KEY, allowedOrigins: shopOrigin });
			await n8n.publishWorkflow({
				name: 'Zoe shop',
				nodes: [trackingTriggerNode('zoe-shop', { id: source, name: 'Zoe shop' })],
				connections: {},
			});
			await n8n.waitForWebhook('zoe-shop');
			const criteoCredential = { retargetingCriteoOAuth2Api: { id: await n8n.createCredential('retargetingCriteoOAuth2Api', 'Criteo', { clientId: criteo.clientId, clientSecret: criteo.clientSecret, accessTokenUrl: `${criteoUrl}/oauth2/token`, apiUrl: criteoUrl }), name: 'Criteo' } };
			const metaCredential = { retargetingMetaAdsApi: { id: await n8n.createCredential('retargetingMetaAdsApi', 'Meta', { accessToken: meta.token, apiUrl: metaUrl }), name: 'Meta' } };
			// Zoe joins two audiences, one at each partner, pushed by a workflow of the shop's.
			const push = (name: string, partner: string, audienceId: string, credentials: unknown, x: number) => ({
				id: `f1e2d3c4-0000-4000-8000-0000000000${x}`,
				name,
				type: 'n8n-nodes-retargeting.bannerPartnerPush',
				typeVersion: 1,
				position: [x * 10, 0] as [number, number],
				parameters: { partner, operation: 'add', audienceId, personIdKind: 'email', personField: 'body.email' },
				credentials,
			});
			await n8n.publishWorkflow({
				name: 'Audiences',
				nodes: [webhookNode('audiences', 'lastNode'), push('Criteo', 'criteo', 'c-1', criteoCredential, 21), push('Meta', 'meta', 'm-1', metaCredential, 22)],
				connections: { Webhook: { main: [[{ node: 'Criteo', type: 'main', index: 0 }]] }, Criteo: { main: [[{ node: 'Meta', type: 'main', index: 0 }]] } },
			});
			await n8n.waitForWebhook('audiences');

			const page = await browser.newPage();
			await page.goto(`${shopOrigin}/`);
			const zoe = async () =>
				store((db) => db.prepare("SELECT p.id, p.consent FROM rt_profiles p JOIN rt_identities i ON i.profile_id = p.id WHERE i.kind = 'email' AND i.value = 'zoe@example.com'").get() as { id: string; consent: string } | undefined);
			for (let i = 0; i < 50 && JSON.parse((await zoe())?.consent ?? '{}').ads !== true; i++) await sleep(200);
			const { id: zoeId } = (await zoe())!;
			const pushed = await n8n.webhook('audiences', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'zoe@example.com' }) });
			expect(pushed.status).toBe(200);
			const hash = sha256Hex('zoe@example.com');
			expect(criteo.members('c-1').has(hash)).toBe(true);
			expect([...meta.members('m-1')].length).toBe(1);

			// Zoe withdraws ad consent on the shop's page.
			await page.goto(`${shopOrigin}/withdraw`);
			for (let i = 0; i < 50 && JSON.parse((await zoe())!.consent).ads !== false; i++) await sleep(200);
			expect(JSON.parse((await zoe())!.consent).ads).toBe(false);
			await page.close();

			// The shipped consent cascade, set up as its note says: the two partners' credentials, the other partners' nodes deleted; then published, so it runs every minute.
			const template = JSON.parse(readFileSync(path.join(repoRoot(), 'workflows', 'consent-cascade.json'), 'utf8')) as WorkflowJson;
			const used = { 'Out of every Criteo audience': criteoCredential, 'Out of every Meta audience': metaCredential } as Record<string, unknown>;
			const nodes = template.nodes.filter((n) => used[n.name] || !n.type.endsWith('bannerPartnerPush'));
			for (const n of nodes) if (used[n.name]) (n as unknown as { credentials: unknown }).credentials = used[n.name];
			const fanOut = (template.connections['Every minute'] as { main: Array<Array<{ node: string; type: string; index: number }>> }).main[0];
			const connections = { 'Every minute': { main: [fanOut.filter((c) => used[c.node])] } };
			const cascadeId = await n8n.publishWorkflow({ name: template.name, nodes, connections, settings: template.settings });
			const runs = await n8n.waitForExecutions(cascadeId, 1, 90_000);
			const run = runs.find((r) => r.data?.resultData.runData['Out of every Criteo audience']?.[0].data?.main[0]?.length) ?? runs[0];
			expect(run.status).toBe('success');
			expect(run.data!.resultData.runData['Out of every Criteo audience'][0].data!.main[0]!.map((i) => i.json)).toEqual([{ partner: 'criteo', audienceId: 'c-1', profileId: zoeId, status: 'removed' }]);
			expect(run.data!.resultData.runData['Out of every Meta audience'][0].data!.main[0]!.map((i) => i.json.status)).toEqual(['removed']);
			expect(criteo.members('c-1').size).toBe(0);
			expect(meta.members('m-1').size).toBe(0);
			expect([...criteo.shapeErrors, ...meta.shapeErrors]).toEqual([]);
			const log = () => store((db) => db.prepare('SELECT profile_id, subject, purpose, action, source, detail FROM rt_consent_log WHERE profile_id = ? OR subject IN (SELECT subject FROM rt_consent_log WHERE profile_id = ?) ORDER BY id').all(zoeId, zoeId) as Array<Record<string, string | null>>);
			expect(log().map((e) => [e.purpose, e.action, e.source, e.detail])).toEqual([
				['email', 'granted', 'tracking:Consent Updated', null],
				['ads', 'granted', 'tracking:Consent Updated', null],
				['ads', 'withdrawn', 'tracking:Consent Updated', null],
				['ads', 'left_audience', 'consent-cascade', 'criteo audience c-1'],
				['ads', 'left_audience', 'consent-cascade', 'meta audience m-1'],
			]);
			const subject = log()[0].subject!;

			// Erased: the log keeps its steps as a hash and times, with nothing that leads back to Zoe.
			await n8n.publishWorkflow({
				name: 'Erase',
				nodes: [
					webhookNode('erase-zoe', 'lastNode'),
					{ id: 'f1e2d3c4-0000-4000-8000-000000000031', name: 'Erase', type: 'n8n-nodes-retargeting.retargetingProfile', typeVersion: 1, position: [200, 0], parameters: { operation: 'erase', lookupBy: 'email', lookupValue: '={{ $json.body.email }}' } },
				],
				connections: { Webhook: { main: [[{ node: 'Erase', type: 'main', index: 0 }]] } },
			});
			await n8n.waitForWebhook('erase-zoe');
			expect(await (await n8n.webhook('erase-zoe', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'zoe@example.com' }) })).json()).toMatchObject({ erased: true });
			const kept = store((db) => db.prepare('SELECT * FROM rt_consent_log WHERE subject = ? ORDER BY id').all(subject) as Array<Record<string, unknown>>);
			expect(kept.map((e) => [e.action, e.profile_id, e.detail])).toEqual([
				['granted', null, null],
				['granted', null, null],
				['withdrawn', null, null],
				['left_audience', null, null],
				['left_audience', null, null],
				['erased', null, null],
			]);
			const everything = JSON.stringify(store((db) => [db.prepare('SELECT * FROM rt_consent_log').all(), db.prepare('SELECT * FROM rt_audience_exits').all()]));
			for (const value of [zoeId, 'zoe@example.com', 'Zoe@Example.com', hash, 'Zoe']) expect(everything).not.toContain(value);
		} finally {
			await browser.close();
			shop.close();
			await criteo.stop();
			await meta.stop();
		}
	}, 180_000);
});
