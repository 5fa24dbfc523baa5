/**
 * `npm run bench` (email events part): one real n8n with the packed package, the email providers'
 * event webhooks received by the Email Events Trigger in each provider's own batch size, against
 * n8n's built-in Webhook node → No Operation receiving the same requests, measured in the same run
 * with the same load (CALLERS concurrent keep-alive clients, ROUNDS interleaved rounds of SECONDS each):
 *  - SendGrid, signed (ECDSA P-256 over timestamp + body), batches of 1,000 events (its largest
 *    posts): once with "Start the Workflow On" empty (every event applied to the store, no
 *    execution: a setup that only records), once with its default (bounces, invalid addresses,
 *    complaints and unsubscribes start an execution, one item each);
 *  - Mailjet, grouped events, batches of 100, Basic auth;
 *  - Postmark, one record a request (as Postmark posts), Basic auth;
 *  - n8n's Webhook → No Operation with each of these bodies and headers, and with one event a
 *    request: what a hand-wired flow costs per event when each event is one execution.
 * The people are identified through a Tracking Trigger first (PEOPLE of them, batches of 500
 * identify events, no execution). Every event is of a known person and has a fresh event id, so
 * each one is applied (touchpoint, soft-bounce count, suppression or unsubscribe), none is a
 * duplicate; the mix is mostly deliveries, opens and clicks, with some bounces, complaints and
 * unsubscribes. Each answer must say that all of its events were applied, and the store must hold
 * as many email events as the answers acknowledged.
 */
import { createSign, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';

import { ensureN8nRuntime } from '../harness/n8n-runtime.ts';
import { startTestInstance } from '../harness/instance.ts';
import { trackingTriggerNode, webhookNode } from '../harness/n8n.ts';
import { packPackage } from '../harness/package-install.ts';
import { repoRoot } from '../harness/paths.ts';
import { SqliteDriver } from '../../nodes/shared/store/sqlite-driver.ts';

const SECONDS = Number(process.env.BENCH_EMAIL_EVENTS_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_EMAIL_EVENTS_ROUNDS ?? 3);
const PEOPLE = Number(process.env.BENCH_EMAIL_EVENTS_PEOPLE ?? 10_000);
const CALLERS = 8;
const SENDGRID_BATCH = 1000;
const MAILJET_BATCH = 100;
const WRITE_KEY = `wk_${randomBytes(16).toString('hex')}`;
const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const basicUser = 'events';
const basicPassword = randomBytes(16).toString('hex');
const basicAuth = `Basic ${Buffer.from(`${basicUser}:${basicPassword}`).toString('base64')}`;

type Kind = 'delivered' | 'open' | 'click' | 'soft_bounce' | 'hard_bounce' | 'complaint' | 'unsubscribe';

let sequence = 0;
/**
 * The next event's kind, its own number and its person. Of every 1,000 consecutive events: 520
 * deliveries, 300 opens, 150 clicks, 15 soft bounces, 5 hard bounces, 2 complaints, 8 unsubscribes.
 */
function next(): { n: number; kind: Kind; email: string } {
	const n = ++sequence;
	const roll = (n * 7919) % 1000;
	const kind: Kind =
		roll < 520 ? 'delivered' : roll < 820 ? 'open' : roll < 970 ? 'click' : roll < 985 ? 'soft_bounce' : roll < 990 ? 'hard_bounce' : roll < 992 ? 'complaint' : 'unsubscribe';
	return { n, kind, email: `person-${Math.floor(Math.random() * PEOPLE)}@example.com` };
}

const seconds = () => Math.floor(Date.now() / 1000);
const USER_AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15';
const link = (n: number) => `https://shop.test/p/${n % 300}?utm_source=email&utm_campaign=cart`;

/** One event of SendGrid's Event Webhook, as documented. */
function sendgridEvent(): Record<string, unknown> {
	const { n, kind, email } = next();
	const base = {
		email,
		timestamp: seconds(),
		'smtp-id': `<${randomUUID()}@shop.test>`,
		sg_event_id: randomBytes(16).toString('base64url'),
		sg_message_id: `${randomBytes(11).toString('base64url')}.filterdrecv-5bd8b9f5b4-2x6dd-1-65F1A2B3-1.0`,
		category: ['cart-recovery'],
	};
	switch (kind) {
		case 'delivered':
			return { ...base, event: 'delivered', response: '250 2.0.0 OK 1711111111 x12si123456qkb.2 - gsmtp', tls: 1, ip: '149.72.1.1' };
		case 'open':
			return { ...base, event: 'open', sg_machine_open: false, useragent: USER_AGENT, ip: '203.0.113.9' };
		case 'click':
			return { ...base, event: 'click', url: link(n), url_offset: { index: 0, type: 'html' }, useragent: USER_AGENT, ip: '203.0.113.9' };
		case 'soft_bounce':
			return { ...base, event: 'bounce', type: 'blocked', reason: '452 4.2.2 The email account that you tried to reach is over quota', status: '4.2.2', bounce_classification: 'Technical' };
		case 'hard_bounce':
			return { ...base, event: 'bounce', type: 'bounce', reason: '550 5.1.1 The email account that you tried to reach does not exist', status: '5.1.1', bounce_classification: 'Invalid Address' };
		case 'complaint':
			return { ...base, event: 'spamreport' };
		case 'unsubscribe':
			return { ...base, event: 'unsubscribe', useragent: USER_AGENT, ip: '203.0.113.9' };
	}
}

/** One Postmark webhook record, as documented (Delivery, Open, Click, Bounce, SpamComplaint, SubscriptionChange). */
function postmarkRecord(): Record<string, unknown> {
	const { n, kind, email } = next();
	const at = new Date().toISOString();
	const base = { MessageID: randomUUID(), MessageStream: 'outbound', Tag: 'cart-recovery', Metadata: { campaign: 'cart' } };
	const client = { Client: { Name: 'Safari', Company: 'Apple Inc.', Family: 'Safari' }, OS: { Name: 'macOS', Company: 'Apple Inc.', Family: 'OS X' }, Platform: 'Desktop', UserAgent: USER_AGENT, Geo: { CountryISOCode: 'DE', Country: 'Germany', City: 'Berlin', IP: '203.0.113.9' } };
	const bounce = (type: string, typeCode: number, details: string) => ({
		...base,
		RecordType: type === 'SpamComplaint' ? 'SpamComplaint' : 'Bounce',
		ID: 4_000_000_000 + n,
		Type: type,
		TypeCode: typeCode,
		ServerID: 23,
		Description: details,
		Details: details,
		Email: email,
		From: 'shop@shop.test',
		BouncedAt: at,
		DumpAvailable: false,
		Inactive: type !== 'SoftBounce',
		CanActivate: true,
		Subject: 'Your cart is waiting',
	});
	switch (kind) {
		case 'delivered':
			return { ...base, RecordType: 'Delivery', ServerID: 23, Recipient: email, DeliveredAt: at, Details: 'smtp;250 2.0.0 OK' };
		case 'open':
			return { ...base, ...client, RecordType: 'Open', FirstOpen: true, ReadSeconds: 5, Recipient: email, ReceivedAt: at };
		case 'click':
			return { ...base, ...client, RecordType: 'Click', ClickLocation: 'HTML', OriginalLink: link(n), Recipient: email, ReceivedAt: at };
		case 'soft_bounce':
			return bounce('SoftBounce', 4096, 'smtp;452 4.2.2 The email account that you tried to reach is over quota');
		case 'hard_bounce':
			return bounce('HardBounce', 1, 'smtp;550 5.1.1 The email account that you tried to reach does not exist');
		case 'complaint':
			return bounce('SpamComplaint', 512, 'The recipient marked the message as spam');
		case 'unsubscribe':
			return { ...base, RecordType: 'SubscriptionChange', ServerID: 23, ChangedAt: at, Recipient: email, Origin: 'Recipient', SuppressSending: true, SuppressionReason: 'ManualSuppression' };
	}
}

/** One Mailjet Event API event, as documented (sent, open, click, bounce, spam, unsub). */
function mailjetEvent(): Record<string, unknown> {
	const { n, kind, email } = next();
	const base = {
		time: seconds(),
		// Below 2^53, so that JSON.stringify writes it exactly; the reader keeps larger ones' digits too.
		MessageID: 1_942_177_783_514 * 1000 + n,
		Message_GUID: randomUUID(),
		email,
		mj_campaign_id: 7257,
		mj_contact_id: 4 + (n % 1000),
		customcampaign: 'cart-recovery',
		CustomID: '',
		Payload: '',
	};
	switch (kind) {
		case 'delivered':
			return { ...base, event: 'sent', mj_message_id: String(base.MessageID), smtp_reply: 'sent (250 2.0.0 OK 1711111111 x12si123456qkb.2 - gsmtp)' };
		case 'open':
			return { ...base, event: 'open', ip: '203.0.113.9', geo: 'DE', agent: USER_AGENT };
		case 'click':
			return { ...base, event: 'click', url: link(n), ip: '203.0.113.9', geo: 'DE', agent: USER_AGENT };
		case 'soft_bounce':
			return { ...base, event: 'bounce', blocked: false, hard_bounce: false, error_related_to: 'recipient', error: 'mailbox full' };
		case 'hard_bounce':
			return { ...base, event: 'bounce', blocked: false, hard_bounce: true, error_related_to: 'recipient', error: 'user unknown' };
		case 'complaint':
			return { ...base, event: 'spam', source: 'JMRPP' };
		case 'unsubscribe':
			return { ...base, event: 'unsub', mj_list_id: 1, ip: '203.0.113.9', geo: 'DE', agent: USER_AGENT };
	}
}

interface Request {
	body: string;
	headers: Record<string, string>;
}

/** A SendGrid post of `count` events, signed as the Signed Event Webhook signs: timestamp + raw body. */
function sendgridRequest(count: number): Request {
	const body = JSON.stringify(Array.from({ length: count }, sendgridEvent));
	const timestamp = String(seconds());
	const signature = createSign('sha256').update(timestamp + body).sign(sendgridKeys.privateKey).toString('base64');
	return { body, headers: { 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': timestamp } };
}
const postmarkRequest = (): Request => ({ body: JSON.stringify(postmarkRecord()), headers: { authorization: basicAuth } });
const mailjetRequest = (count: number): Request => ({ body: JSON.stringify(Array.from({ length: count }, mailjetEvent)), headers: { authorization: basicAuth } });

interface Scenario {
	name: string;
	/** A short name for the progress lines. */
	tag: string;
	url: string;
	eventsPerRequest: number;
	/** A new request: fresh event ids. */
	request: () => Request;
	/** The events a 200 answer's body says were applied. */
	acknowledges: (body: string) => number;
	requests: number;
	acknowledged: number;
	seconds: number;
}

/** CALLERS clients send requests back to back for `seconds`; returns requests answered 200. */
async function load(s: Scenario, seconds: number): Promise<void> {
	const deadline = performance.now() + seconds * 1000;
	const started = performance.now();
	const caller = async () => {
		while (performance.now() < deadline) {
			const { body, headers } = s.request();
			const res = await fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
			const text = await res.text();
			if (res.status !== 200) throw new Error(`${s.name}: HTTP ${res.status} ${text.slice(0, 500)}`);
			s.requests++;
			s.acknowledged += s.acknowledges(text);
		}
	};
	await Promise.all(Array.from({ length: CALLERS }, caller));
	s.seconds += (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
	await ensureN8nRuntime();
	process.env.RETARGETING_TARBALL = await packPackage(path.join(repoRoot(), '.test-runs', 'package'));
	const n8n = await startTestInstance();
	try {
		const noOp = { id: randomUUID(), name: 'No Operation', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [220, 0] as [number, number], parameters: {} };
		const source = await n8n.createCredential('retargetingTrackingApi', 'Bench shop', { writeKey: WRITE_KEY });
		await n8n.publishWorkflow({
			name: 'People: Tracking Trigger',
			nodes: [
				trackingTriggerNode('bench-shop', { id: source, name: 'Bench shop' }, { triggerOn: [] }),
			],
			connections: {},
		});
		await n8n.publishWorkflow({
			name: 'Baseline: Webhook → No Operation',
			nodes: [webhookNode('baseline', 'onReceived'), noOp],
			connections: { Webhook: { main: [[{ node: 'No Operation', type: 'main', index: 0 }]] } },
		});
		const credential = async (provider: string, data: Record<string, unknown>) => {
			const name = `Bench ${provider} events`;
			return { retargetingEmailWebhookApi: { id: await n8n.createCredential('retargetingEmailWebhookApi', name, { provider, ...data }), name } };
		};
		const trigger = async (name: string, provider: string, webhookPath: string, credentials: unknown, triggerOn?: string[]) =>
			await n8n.publishWorkflow({
				name,
				nodes: [
					{
						id: randomUUID(),
						name: 'Email Events Trigger',
						type: 'n8n-nodes-retargeting.emailEventsTrigger',
						typeVersion: 1,
						position: [0, 0],
						parameters: { source: provider, path: webhookPath, ...(triggerOn ? { triggerOn } : {}) },
						credentials,
					},
					noOp,
				],
				connections: { 'Email Events Trigger': { main: [[{ node: 'No Operation', type: 'main', index: 0 }]] } },
			});
		const sendgridCredential = await credential('sendgrid', { publicKey: sendgridKeys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64') });
		await trigger('SendGrid events, store only', 'sendgrid', 'bench-sendgrid', sendgridCredential, []);
		const withExecutions = await trigger('SendGrid events, default start', 'sendgrid', 'bench-sendgrid-default', sendgridCredential);
		await trigger('Mailjet events', 'mailjet', 'bench-mailjet', await credential('mailjet', { user: basicUser, password: basicPassword }), []);
		await trigger('Postmark events', 'postmark', 'bench-postmark', await credential('postmark', { user: basicUser, password: basicPassword }), []);
		for (const webhookPath of ['bench-shop', 'baseline', 'bench-sendgrid', 'bench-sendgrid-default', 'bench-mailjet', 'bench-postmark']) await n8n.waitForWebhook(webhookPath);

		// The people, identified as a shop's server library does: batches of 500 identify events.
		const seeding = performance.now();
		for (let from = 0; from < PEOPLE; from += 500) {
			const batch = Array.from({ length: Math.min(500, PEOPLE - from) }, (_, i) => ({
				type: 'identify',
				messageId: randomUUID(),
				userId: `user-${from + i}`,
				traits: { email: `person-${from + i}@example.com`, first_name: `Ada ${from + i}` },
				context: { consent: { email: true, ads: true } },
			}));
			const answer = await n8n.track('bench-shop', WRITE_KEY, batch);
			if (answer.accepted !== batch.length) throw new Error(`identifying people: ${JSON.stringify(answer).slice(0, 500)}`);
		}
		const seedSeconds = (performance.now() - seeding) / 1000;

		const rate = (s: Scenario) => s.requests / s.seconds;
		const fmt = (x: number) => Math.round(x).toLocaleString('en');
		/** Requests a second, with a decimal below 100 (a few a second for the largest posts). */
		const perSecond = (x: number) => (x < 100 ? x.toFixed(1) : fmt(x));
		const make = (tag: string, name: string, webhookPath: string, eventsPerRequest: number, request: () => Request, acknowledges: (body: string) => number): Scenario => ({
			name,
			tag,
			url: `${n8n.baseUrl}/webhook/${webhookPath}`,
			eventsPerRequest,
			request,
			acknowledges,
			requests: 0,
			acknowledged: 0,
			seconds: 0,
		});
		// The trigger reports what it did with each request's events: all of them must be applied.
		const applied = (expected: number) => (body: string) => {
			const answer = JSON.parse(body) as { received: number; applied: number; duplicates: number; unknown: number };
			if (answer.applied !== expected) throw new Error(`${expected} events sent, but the answer is ${body.slice(0, 500)}`);
			return answer.applied;
		};
		// n8n's Webhook node answers "Workflow was started".
		const started = () => 0;
		const sendgrid = make('ours sendgrid', `SendGrid, batches of ${fmt(SENDGRID_BATCH)}, signed, "Start the Workflow On" empty (store only, no execution)`, 'bench-sendgrid', SENDGRID_BATCH, () => sendgridRequest(SENDGRID_BATCH), applied(SENDGRID_BATCH));
		const sendgridDefault = make(
			'ours sendgrid default start',
			`SendGrid, batches of ${fmt(SENDGRID_BATCH)}, signed, "Start the Workflow On" default (bounces, complaints, unsubscribes start an execution)`,
			'bench-sendgrid-default',
			SENDGRID_BATCH,
			() => sendgridRequest(SENDGRID_BATCH),
			applied(SENDGRID_BATCH),
		);
		const mailjet = make('ours mailjet', `Mailjet, grouped batches of ${MAILJET_BATCH}, Basic auth, store only`, 'bench-mailjet', MAILJET_BATCH, () => mailjetRequest(MAILJET_BATCH), applied(MAILJET_BATCH));
		const postmark = make('ours postmark', 'Postmark, 1 record a request, Basic auth, store only', 'bench-postmark', 1, postmarkRequest, applied(1));
		const baselineOne = make('n8n 1 event', 'Webhook → No Operation, 1 event a request (Postmark record)', 'baseline', 1, postmarkRequest, started);
		const baselineSendgrid = make('n8n sendgrid posts', `Webhook → No Operation, the same signed SendGrid posts of ${fmt(SENDGRID_BATCH)}`, 'baseline', SENDGRID_BATCH, () => sendgridRequest(SENDGRID_BATCH), started);
		const baselineMailjet = make('n8n mailjet posts', `Webhook → No Operation, the same Mailjet posts of ${MAILJET_BATCH}`, 'baseline', MAILJET_BATCH, () => mailjetRequest(MAILJET_BATCH), started);
		const scenarios = [baselineOne, sendgrid, baselineSendgrid, sendgridDefault, mailjet, baselineMailjet, postmark];
		const ours = [sendgrid, sendgridDefault, mailjet, postmark];

		// Warm-up (JIT, first store open), then interleaved rounds so that machine noise hits all alike.
		let warmUpAcknowledged = 0;
		for (const s of scenarios) {
			const warmUp = { ...s, requests: 0, acknowledged: 0, seconds: 0 };
			await load(warmUp, 1);
			warmUpAcknowledged += warmUp.acknowledged;
		}
		for (let round = 0; round < ROUNDS; round++) {
			const before = scenarios.map((s) => ({ requests: s.requests, seconds: s.seconds }));
			for (const s of scenarios) await load(s, SECONDS);
			process.stderr.write(
				`[bench] round ${round + 1}: ${scenarios.map((s, i) => `${s.tag} ${perSecond((s.requests - before[i].requests) / (s.seconds - before[i].seconds))} req/s`).join(', ')}\n`,
			);
		}

		const db = new SqliteDriver(path.join(n8n.userFolder, '.n8n', 'retargeting', 'store.sqlite'));
		const [stored] = await db.all<{ events: number; touchpoints: number; suppressed: number; profiles: number }>(
			"SELECT (SELECT COUNT(*) FROM rt_email_events) AS events, (SELECT COUNT(*) FROM rt_touchpoints WHERE kind LIKE 'email_%') AS touchpoints, (SELECT COUNT(*) FROM rt_profiles WHERE suppressed = 1) AS suppressed, (SELECT COUNT(*) FROM rt_profiles) AS profiles",
		);
		await db.close();
		const n8nDb = new SqliteDriver(path.join(n8n.userFolder, '.n8n', 'database.sqlite'));
		const [{ executions }] = await n8nDb.all<{ executions: number }>('SELECT COUNT(*) AS executions FROM execution_entity WHERE "workflowId" = ?', [withExecutions]);
		await n8nDb.close();

		const acknowledged = ours.reduce((sum, s) => sum + s.acknowledged, warmUpAcknowledged);
		const oneEvent = rate(baselineOne);
		const lines = [
			`email-events: ${fmt(PEOPLE)} people identified through the Tracking Trigger (${fmt(PEOPLE / seedSeconds)} identify events/s); ${CALLERS} concurrent clients, ${ROUNDS} interleaved rounds of ${SECONDS} s, after a 1 s warm-up each`,
			`email-events: baseline, n8n Webhook → No Operation, 1 event a request: ${perSecond(oneEvent)} requests/s = ${perSecond(oneEvent)} events/s (one execution per event)`,
		];
		const report = (s: Scenario, same: Scenario | undefined) => {
			lines.push(`email-events: Email Events Trigger, ${s.name}: ${perSecond(rate(s))} requests/s, ${perSecond(rate(s) * s.eventsPerRequest)} events/s`);
			lines.push(`  events/s against Webhook → No Operation taking 1 event a request (${perSecond(oneEvent)} events/s): ${((rate(s) * s.eventsPerRequest) / oneEvent).toFixed(2)}×`);
			if (same) lines.push(`  requests/s against Webhook → No Operation receiving the same ${fmt(s.eventsPerRequest)}-event posts (${perSecond(rate(same))} requests/s): ${(rate(s) / rate(same)).toFixed(2)}×`);
			else lines.push(`  requests/s against Webhook → No Operation receiving the same 1-record posts: the same ratio, ${(rate(s) / oneEvent).toFixed(2)}×`);
		};
		report(sendgrid, baselineSendgrid);
		report(sendgridDefault, baselineSendgrid);
		lines.push(`  (the default-start workflow ran ${fmt(Number(executions))} executions, about one per post, each after its answer)`);
		report(mailjet, baselineMailjet);
		report(postmark, undefined);
		lines.push(
			`email-events: events acknowledged as applied ${fmt(acknowledged)}, rows in rt_email_events ${fmt(Number(stored.events))}, email touchpoints ${fmt(Number(stored.touchpoints))}; suppressed people ${fmt(Number(stored.suppressed))} of ${fmt(Number(stored.profiles))}`,
		);
		process.stdout.write(`${lines.join('\n')}\n`);
		if (Number(stored.events) !== acknowledged) throw new Error(`the store holds ${stored.events} email events, but ${acknowledged} were acknowledged`);
	} finally {
		await n8n.dispose();
	}
}

main().catch((error: unknown) => {
	process.stderr.write(`email-events bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
