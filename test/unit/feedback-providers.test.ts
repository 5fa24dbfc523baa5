import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { credentialProblem } from '../../nodes/shared/feedback/basic-auth.ts';
import { readBrevo } from '../../nodes/shared/feedback/brevo.ts';
import { readMailjet } from '../../nodes/shared/feedback/mailjet.ts';
import { mandrillSignature, readMandrill } from '../../nodes/shared/feedback/mandrill.ts';
import type { FeedbackEvent, FeedbackReading, FeedbackRequest, IgnoredEvent } from '../../nodes/shared/feedback/model.ts';
import { readPostmark } from '../../nodes/shared/feedback/postmark.ts';
import { readSendGrid } from '../../nodes/shared/feedback/sendgrid.ts';

/*
 * The payloads under test/fixtures/feedback are the request bodies the providers post, built from
 * their documented examples, with this package's send keys and example.com addresses put in:
 * - sendgrid-batch.json: the event types and fields of https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
 *   (one batch with an example of each type, as that page shows), with the ids and diagnostics of
 *   django-anymail's captured events (tests/test_sendgrid_webhooks.py), a `type: blocked` bounce
 *   captured by Discourse (app/controllers/webhooks_controller), and a `dropped` without
 *   sg_event_id from SendGrid's old batch example (gist martyndavies/8332929).
 * - mandrill-batch.json: Mailchimp Transactional's example batch ("Webhook events format",
 *   https://mailchimp.com/developer/transactional/docs/webhooks/), as mirrored in
 *   Mandrill.net tests/Tests/TestData.cs, with distinct message ids per message.
 * - postmark-*.json: the examples of https://postmarkapp.com/developer/webhooks/bounce-webhook,
 *   spam-complaint-webhook, delivery-webhook, open-tracking-webhook, click-webhook and
 *   subscription-change-webhook (the bounce keeps the page's 64-bit ID 4323372036854775807).
 * - mailjet-*.json: the examples of https://dev.mailjet.com/email/guides/webhooks/ (sent, open,
 *   click, bounce, blocked, spam, unsub), grouped as with "group events" on; the single bare event
 *   is django-anymail's greylisted bounce (tests/test_mailjet_webhooks.py).
 * - brevo-*.json: the fields of https://developers.brevo.com/docs/transactional-webhooks with the
 *   values django-anymail captured live (tests/test_brevo_webhooks.py: reasons, message-id
 *   format, `ts`/`ts_event`/`date` in the account's time zone and `ts_epoch` in UTC milliseconds);
 *   brevo-error-seconds-epoch.json is Brevo's documented "error" example, whose ts_epoch is in seconds.
 */

const WEBHOOK_URL = 'https://n8n.example.com/webhook/3f6c1d2e/esp-feedback';

const fixture = (name: string): Buffer => readFileSync(path.join(__dirname, '..', 'fixtures', 'feedback', name));

function request(body: Buffer | string, headers: FeedbackRequest['headers'] = {}, url = WEBHOOK_URL): FeedbackRequest {
	return { body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), headers, url, method: 'POST' };
}

function read(reading: FeedbackReading): { events: FeedbackEvent[]; ignored: IgnoredEvent[] } {
	if (!reading.ok) throw new Error(`refused with ${reading.status}: ${reading.error}`);
	return reading;
}

function refused(reading: FeedbackReading): { status: number; error: string } {
	if (reading.ok) throw new Error('expected the request to be refused');
	return reading;
}

const ids = (events: FeedbackEvent[]) => events.map((e) => e.id);

const basicHeader = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('SendGrid Event Webhook', () => {
	const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
	const publicKey = pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
	const TIMESTAMP = '1461095460';

	// As SendGrid signs: ECDSA P-256 with SHA-256 over the timestamp followed by the raw body, DER, base64.
	function signed(body: Buffer | string, privateKey: KeyObject = pair.privateKey, timestamp = TIMESTAMP): FeedbackRequest {
		const raw = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
		const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), raw]), { key: privateKey, dsaEncoding: 'der' }).toString('base64');
		return request(raw, {
			'x-twilio-email-event-webhook-signature': signature,
			'x-twilio-email-event-webhook-timestamp': timestamp,
		});
	}

	const readBatch = () => read(readSendGrid(signed(fixture('sendgrid-batch.json')), { publicKey }));

	it('reads the documented events into kinds, ids, times, message ids and send keys', () => {
		const { events } = readBatch();
		expect(events.map((e) => [e.kind, e.email, e.at])).toEqual([
			['delivered', 'amelia.hart@example.com', '2016-04-19T19:47:30.000Z'],
			['opened', 'amelia.hart@example.com', '2016-04-19T19:48:32.000Z'],
			['clicked', 'amelia.hart@example.com', '2016-04-19T19:48:50.000Z'],
			['hard_bounce', 'noreply.gone@example.org', '2016-04-19T19:47:30.000Z'],
			['soft_bounce', 'noemail@this.does.not.exist.tld', '2025-02-23T08:45:20.000Z'],
			['invalid_address', 'old.bounce@example.net', '2016-04-19T19:47:32.000Z'],
			['invalid_address', 'not an email address', '2013-12-10T00:41:55.000Z'],
			['complaint', 'complained.before@example.com', '2016-04-19T19:47:33.000Z'],
			['unsubscribed', 'unsubscribe@example.com', '2016-04-19T19:47:34.000Z'],
			['complaint', 'amelia.hart@example.com', '2016-04-19T19:50:00.000Z'],
			['unsubscribed', 'amelia.hart@example.com', '2016-04-19T19:50:10.000Z'],
			['unsubscribed', 'amelia.hart@example.com', '2016-04-19T19:50:20.000Z'],
		]);
		expect(events.every((e) => e.provider === 'sendgrid')).toBe(true);
	});

	it('takes sg_event_id as the id, the X-Message-Id prefix of sg_message_id, and the rt_key custom arg', () => {
		const [delivered, , clicked, hardBounce] = readBatch().events;
		expect(delivered).toEqual({
			provider: 'sendgrid',
			id: 'nOSv8m0eTQ-vxvwNwt3fZQ',
			kind: 'delivered',
			email: 'amelia.hart@example.com',
			at: '2016-04-19T19:47:30.000Z',
			providerMessageId: 'wrfRRvF7Q0GgwUo2CvDmEA',
			sendKey: 'Xk3pWq9TzA1bC2dE:cart-1042:1',
		});
		expect(clicked).toMatchObject({ id: 'OTdlOGUzYjctYjc5Zi00OWE4LWE4YWUtNjIxNjk2ZTJlNGVi', url: 'https://shop.example.com/cart?utm_source=email&utm_campaign=cart-recovery' });
		expect(hardBounce).toMatchObject({
			id: 'lC0Rc-FuQmKbnxCWxX1jRQ',
			providerMessageId: 'Lli-03HcQ5-JLybO9fXsJg',
			sendKey: 'Xk3pWq9TzA1bC2dE:cart-1043:1',
			reason: '550 5.1.1 The email account that you tried to reach does not exist.',
		});
	});

	it('reads the reasons of drops, blocks and group unsubscribes', () => {
		const { events } = readBatch();
		expect(events.map((e) => e.reason)).toEqual([
			undefined,
			undefined,
			undefined,
			'550 5.1.1 The email account that you tried to reach does not exist.',
			'unable to get mx info: failed to get IPs from PTR record: lookup <nil>: unrecognized address',
			'dropped: Bounced Address',
			'dropped: Invalid',
			'dropped: Spam Reporting Address',
			'dropped: Unsubscribed Address',
			'spam report',
			'unsubscribe link',
			'group unsubscribe (group 10)',
		]);
	});

	it('passes over processed, deferred, machine opens, drops that say nothing about the address, and resubscribes', () => {
		const { ignored } = readBatch();
		expect(ignored.map((i) => i.index)).toEqual([0, 1, 4, 12, 16]);
		expect(ignored[0].reason).toMatch(/processed/);
		expect(ignored[1].reason).toMatch(/deferred/);
		expect(ignored[2].reason).toMatch(/machine open/);
		expect(ignored[3].reason).toMatch(/Recipient List over Package Quota/);
		expect(ignored[4].reason).toMatch(/group_resubscribe/);
	});

	it('gives the same ids when the same batch comes again, and a distinct id to each event', () => {
		const first = ids(readBatch().events);
		expect(ids(readBatch().events)).toEqual(first);
		expect(new Set(first).size).toBe(first.length);
	});

	it('derives a stable id for an old dropped event without sg_event_id', () => {
		const dropped = readBatch().events[6];
		expect(dropped.id).toMatch(/^h:[0-9a-f]{32}$/);
		expect(dropped.providerMessageId).toBe('142d9f3f351');
	});

	it('accepts the verification key as PEM too', () => {
		const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
		expect(read(readSendGrid(signed(fixture('sendgrid-batch.json')), { publicKey: pem })).events).toHaveLength(12);
	});

	describe('refuses what SendGrid did not sign', () => {
		const body = fixture('sendgrid-batch.json');

		it('a body changed after signing', () => {
			const tampered = signed(body);
			tampered.body = Buffer.from(body.toString('utf8').replace('"bounce"', '"delivered"'));
			expect(refused(readSendGrid(tampered, { publicKey }))).toEqual({
				ok: false,
				status: 401,
				error: 'The SendGrid signature does not match: check the verification key in the credential',
			});
		});

		it('a signature made with another key', () => {
			const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
			expect(refused(readSendGrid(signed(body, other.privateKey), { publicKey })).status).toBe(401);
		});

		it('a signature presented with another timestamp', () => {
			const req = signed(body);
			req.headers['x-twilio-email-event-webhook-timestamp'] = '1461095461';
			expect(refused(readSendGrid(req, { publicKey })).status).toBe(401);
		});

		it('a request without the signature header', () => {
			const req = signed(body);
			delete req.headers['x-twilio-email-event-webhook-signature'];
			const { status, error } = refused(readSendGrid(req, { publicKey }));
			expect(status).toBe(401);
			expect(error).toMatch(/x-twilio-email-event-webhook-signature header is missing/);
		});

		it('a request without the timestamp header', () => {
			const req = signed(body);
			delete req.headers['x-twilio-email-event-webhook-timestamp'];
			expect(refused(readSendGrid(req, { publicKey })).error).toMatch(/x-twilio-email-event-webhook-timestamp header is missing/);
		});

		it('a signature that is not DER', () => {
			const req = signed(body);
			req.headers['x-twilio-email-event-webhook-signature'] = Buffer.from('not a signature').toString('base64');
			expect(refused(readSendGrid(req, { publicKey })).status).toBe(401);
		});
	});

	it.each([
		['empty', '', /empty/],
		['not a key', 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE-not-base64', /cannot be read/],
		['an RSA key', generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), /not an ECDSA P-256/],
	])('throws a configuration error for a verification key that is %s', (_label, key, message) => {
		expect(() => readSendGrid(signed('[]'), { publicKey: key })).toThrow(message);
	});

	it('refuses a body that is not JSON, or not an array, with 400', () => {
		expect(refused(readSendGrid(signed('email=a'), { publicKey }))).toMatchObject({ status: 400, error: expect.stringMatching(/not JSON/) });
		expect(refused(readSendGrid(signed('{"event":"delivered"}'), { publicKey }))).toMatchObject({ status: 400, error: expect.stringMatching(/not a JSON array/) });
	});

	it('passes over elements that are not events, naming the missing field, and reads the others', () => {
		const good = { email: 'kept@example.com', timestamp: 1461095250, event: 'delivered', sg_event_id: 'kEpT0000000000000000Aa', sg_message_id: 'abc.filter' };
		const body = JSON.stringify([
			42,
			{ timestamp: 1461095250, event: 'delivered', sg_event_id: 'noEmail0000000000000Aa' },
			{ email: 'no.event@example.com', timestamp: 1461095250 },
			{ email: 'bad.time@example.com', timestamp: 'yesterday', event: 'delivered' },
			good,
		]);
		const { events, ignored } = read(readSendGrid(signed(body), { publicKey }));
		expect(events.map((e) => e.email)).toEqual(['kept@example.com']);
		expect(ignored).toEqual([
			{ index: 0, reason: 'The event is not a JSON object' },
			{ index: 1, reason: 'The "delivered" event has no "email" field' },
			{ index: 2, reason: 'The event has no "event" field' },
			{ index: 3, reason: 'The "delivered" event has no valid "timestamp" field (Unix seconds)' },
		]);
	});

	it('refuses more than 5,000 events with 413 and reads 5,000', () => {
		const event = { email: 'a@example.com', timestamp: 1461095250, event: 'processed', sg_event_id: 'x' };
		expect(refused(readSendGrid(signed(JSON.stringify(Array(5001).fill(event))), { publicKey })).status).toBe(413);
		expect(read(readSendGrid(signed(JSON.stringify(Array(5000).fill(event))), { publicKey })).ignored).toHaveLength(5000);
	});
});

describe('Mailchimp Transactional (Mandrill) webhook', () => {
	const KEY = 'example-webhook-key-V2yQ8nZ3';

	// As Mandrill signs a form POST with one field: HMAC-SHA1 of URL + "mandrill_events" + value, base64.
	function signed(eventsJson: string, options: { key?: string; url?: string } = {}): FeedbackRequest {
		const signature = createHmac('sha1', options.key ?? KEY)
			.update(`${options.url ?? WEBHOOK_URL}mandrill_events${eventsJson}`)
			.digest('base64');
		return request(new URLSearchParams({ mandrill_events: eventsJson }).toString(), { 'x-mandrill-signature': signature });
	}

	const batch = () => fixture('mandrill-batch.json').toString('utf8');
	const readBatch = () => read(readMandrill(signed(batch()), { webhookKey: KEY }));

	it('computes the signature as Mandrill does: URL, then each field name and value in order of name', () => {
		const params = { mandrill_events: '[]', b_field: 'two words', a_field: 'ünïcode' };
		const expected = createHmac('sha1', KEY).update(`${WEBHOOK_URL}a_fieldünïcodeb_fieldtwo wordsmandrill_events[]`, 'utf8').digest('base64');
		expect(mandrillSignature(KEY, WEBHOOK_URL, params)).toBe(expected);
	});

	it('reads the documented events into kinds, times, message ids, send keys and links', () => {
		const { events } = readBatch();
		expect(events.map((e) => [e.kind, e.email, e.at, e.providerMessageId, e.sendKey])).toEqual([
			['hard_bounce', 'gone.away@example.org', '2015-01-03T16:43:29.000Z', '3c1b0e8f27a94d6c9e5d7a2b4f6e8c01', 'Xk3pWq9TzA1bC2dE:cart-1043:1'],
			['soft_bounce', 'full.mailbox@example.net', '2015-01-03T16:43:31.000Z', '7d2e4a9b1c3f4e5a8b6c0d9e2f1a3b4c', 'Xk3pWq9TzA1bC2dE:cart-1044:2'],
			['opened', 'amelia.hart@example.com', '2015-01-03T16:53:20.000Z', 'fa239ebedd0a4831a3eefa59e880d8b2', 'Xk3pWq9TzA1bC2dE:cart-1042:1'],
			['opened', 'amelia.hart@example.com', '2015-01-04T16:53:20.000Z', 'fa239ebedd0a4831a3eefa59e880d8b2', 'Xk3pWq9TzA1bC2dE:cart-1042:1'],
			['clicked', 'amelia.hart@example.com', '2015-01-03T16:53:20.000Z', 'fa239ebedd0a4831a3eefa59e880d8b2', 'Xk3pWq9TzA1bC2dE:cart-1042:1'],
			['complaint', 'amelia.hart@example.com', '2015-01-04T19:33:20.000Z', 'fa239ebedd0a4831a3eefa59e880d8b2', 'Xk3pWq9TzA1bC2dE:cart-1042:1'],
			['unsubscribed', 'amelia.hart@example.com', '2015-01-04T19:33:20.000Z', 'fa239ebedd0a4831a3eefa59e880d8b2', 'Xk3pWq9TzA1bC2dE:cart-1042:1'],
		]);
		expect(events[0].reason).toMatch(/^smtp;550 5\.1\.1 The email account/);
		expect(events[1].reason).toBe('smtp;552 5.2.2 Over Quota');
		expect(events[4].url).toBe('https://shop.example.com/cart?utm_campaign=cart-recovery');
	});

	it('passes over send, deferral, reject and sync events', () => {
		const { ignored } = readBatch();
		expect(ignored.map((i) => i.index)).toEqual([0, 1, 9, 10]);
		expect(ignored.map((i) => i.reason)).toEqual([
			expect.stringMatching(/"send"/),
			expect.stringMatching(/"deferral"/),
			expect.stringMatching(/"reject"/),
			'A Mandrill sync event ("blacklist"), not a message event',
		]);
	});

	it('derives ids that are stable across deliveries and distinct for the events of one message', () => {
		const first = ids(readBatch().events);
		expect(ids(readBatch().events)).toEqual(first);
		// Two opens, an open and a click at the same second, a complaint and an unsubscribe at the same second.
		expect(new Set(first).size).toBe(first.length);
		expect(first.every((id) => /^h:[0-9a-f]{32}$/.test(id))).toBe(true);
	});

	it("reads Mandrill's test POST (an empty array) as no events", () => {
		expect(readMandrill(signed('[]'), { webhookKey: KEY })).toEqual({ ok: true, events: [], ignored: [] });
	});

	describe('refuses what Mandrill did not sign', () => {
		it('a field changed after signing', () => {
			const req = signed(batch());
			req.body = Buffer.from(new URLSearchParams({ mandrill_events: batch().replace('"hard_bounce"', '"open"') }).toString());
			const { status, error } = refused(readMandrill(req, { webhookKey: KEY }));
			expect(status).toBe(401);
			expect(error).toMatch(/signature does not match: check the webhook key/);
		});

		it('a field added after signing', () => {
			const req = signed('[]');
			req.body = Buffer.from(`${req.body.toString()}&extra=1`);
			expect(refused(readMandrill(req, { webhookKey: KEY })).status).toBe(401);
		});

		it('a signature made for another URL', () => {
			const req = signed('[]', { url: WEBHOOK_URL.replace('https:', 'http:') });
			expect(refused(readMandrill(req, { webhookKey: KEY })).status).toBe(401);
		});

		it('a signature made with another key', () => {
			expect(refused(readMandrill(signed('[]', { key: 'another-webhook-key' }), { webhookKey: KEY })).status).toBe(401);
		});

		it('a request without the signature header', () => {
			const req = signed('[]');
			delete req.headers['x-mandrill-signature'];
			expect(refused(readMandrill(req, { webhookKey: KEY })).error).toMatch(/x-mandrill-signature header is missing/);
		});
	});

	it('throws a configuration error when no webhook key is set', () => {
		expect(() => readMandrill(signed('[]'), { webhookKey: '' })).toThrow(/webhook key is empty/);
	});

	it('refuses, with 400, a signed body without mandrill_events, or whose mandrill_events is not a JSON array', () => {
		const form = 'events=%5B%5D';
		const withoutField = request(form, { 'x-mandrill-signature': mandrillSignature(KEY, WEBHOOK_URL, { events: '[]' }) });
		expect(refused(readMandrill(withoutField, { webhookKey: KEY }))).toMatchObject({ status: 400, error: expect.stringMatching(/no mandrill_events field/) });
		expect(refused(readMandrill(signed('GARBAGE DATA'), { webhookKey: KEY }))).toMatchObject({ status: 400, error: 'The mandrill_events field is not JSON' });
		expect(refused(readMandrill(signed('{"event":"open"}'), { webhookKey: KEY }))).toMatchObject({ status: 400, error: expect.stringMatching(/not a JSON array/) });
	});

	it('passes over elements without a recipient or event, naming the field, and reads the others', () => {
		const events = JSON.stringify([
			'open',
			{ event: 'open', ts: 1420304000, _id: 'a1', msg: {} },
			{ ts: 1420304000, _id: 'a2', msg: { email: 'no.event@example.com' } },
			{ event: 'open', _id: 'a3', msg: { email: 'no.time@example.com' } },
			{ event: 'open', ts: 1420304000, _id: 'a4', msg: { email: 'kept@example.com' } },
		]);
		const { events: read_, ignored } = read(readMandrill(signed(events), { webhookKey: KEY }));
		expect(read_.map((e) => e.email)).toEqual(['kept@example.com']);
		expect(ignored).toEqual([
			{ index: 0, reason: 'The event is not a JSON object' },
			{ index: 1, reason: 'The "open" event has no "msg.email" field' },
			{ index: 2, reason: 'The event has no "event" field' },
			{ index: 3, reason: 'The "open" event has no valid "ts" field (Unix seconds)' },
		]);
	});

	it('refuses more than 1,000 events with 413', () => {
		expect(refused(readMandrill(signed(JSON.stringify(Array(1001).fill({ event: 'send' }))), { webhookKey: KEY })).status).toBe(413);
	});
});

describe('Postmark webhooks', () => {
	const AUTH = { user: 'postmark-hooks', password: 'example-k3Jx9-vQ2pLw' };
	const headers = { authorization: basicHeader(AUTH.user, AUTH.password) };
	const readFixture = (name: string) => read(readPostmark(request(fixture(name), headers), AUTH));
	const only = (name: string) => {
		const { events, ignored } = readFixture(name);
		expect(ignored).toEqual([]);
		expect(events).toHaveLength(1);
		return events[0];
	};

	it('reads a hard bounce with its 64-bit bounce ID intact', () => {
		expect(only('postmark-bounce.json')).toEqual({
			provider: 'postmark',
			id: 'bounce:4323372036854775807',
			kind: 'hard_bounce',
			email: 'gone.away@example.org',
			at: '2019-11-05T16:33:54.907Z',
			providerMessageId: '883953f4-6105-42a2-a16a-77a8eac79483',
			sendKey: 'Xk3pWq9TzA1bC2dE:cart-1043:1',
			reason: 'HardBounce: smtp;550 5.1.1 The email account that you tried to reach does not exist.',
		});
	});

	it('reads a soft bounce, converting its -04:00 time to UTC', () => {
		expect(only('postmark-soft-bounce.json')).toMatchObject({ id: 'bounce:901542551', kind: 'soft_bounce', at: '2016-04-27T20:28:50.396Z', sendKey: 'Xk3pWq9TzA1bC2dE:cart-1044:2' });
	});

	it('reads a spam complaint', () => {
		expect(only('postmark-spam-complaint.json')).toMatchObject({ id: 'bounce:901542550', kind: 'complaint', email: 'amelia.hart@example.com', at: '2019-11-05T16:33:54.907Z' });
	});

	it('reads a delivery, an open and a click', () => {
		expect(only('postmark-delivery.json')).toMatchObject({
			kind: 'delivered',
			email: 'amelia.hart@example.com',
			at: '2014-08-01T17:28:10.273Z',
			providerMessageId: '00000000-0000-0000-0000-000000000000',
			sendKey: 'Xk3pWq9TzA1bC2dE:cart-1042:1',
		});
		expect(only('postmark-open.json')).toMatchObject({ kind: 'opened', at: '2019-11-05T16:33:54.907Z' });
		expect(only('postmark-click.json')).toMatchObject({ kind: 'clicked', at: '2017-10-25T15:21:11.906Z', url: 'https://shop.example.com/cart?utm_campaign=cart-recovery' });
	});

	it('reads a SubscriptionChange that suppresses the address by the recipient as an unsubscribe', () => {
		expect(only('postmark-subscription-change.json')).toMatchObject({
			kind: 'unsubscribed',
			email: 'amelia.hart@example.com',
			at: '2022-06-05T17:17:32.000Z',
			providerMessageId: 'a4909a96-73d7-4c49-b148-a54522d3f7ac',
			reason: 'SubscriptionChange: ManualSuppression (origin Recipient)',
		});
	});

	it.each([
		['HardBounce', 'hard_bounce'],
		['SpamComplaint', 'complaint'],
	])('reads a SubscriptionChange suppressing for %s as %s', (suppressionReason, kind) => {
		const change = { ...JSON.parse(fixture('postmark-subscription-change.json').toString()), SuppressionReason: suppressionReason, Origin: 'Admin' };
		expect(read(readPostmark(request(JSON.stringify(change), headers), AUTH)).events[0].kind).toBe(kind);
	});

	it('passes over a SubscriptionChange that reactivates the address', () => {
		expect(readFixture('postmark-subscription-reactivated.json')).toEqual({
			ok: true,
			events: [],
			ignored: [{ index: 0, reason: expect.stringMatching(/reactivating/) }],
		});
	});

	it.each([
		['HardBounce', 'hard_bounce'],
		['BadEmailAddress', 'invalid_address'],
		['SoftBounce', 'soft_bounce'],
		['Transient', 'soft_bounce'],
		['DnsError', 'soft_bounce'],
		['Blocked', 'soft_bounce'],
		['SpamNotification', 'soft_bounce'],
		['Unsubscribe', 'unsubscribed'],
		['ManuallyDeactivated', 'unsubscribed'],
		['AutoResponder', undefined],
		['DMARCPolicy', undefined],
		['TemplateRenderingFailed', undefined],
	])('reads a bounce of type %s as %s', (type, kind) => {
		const bounce = { RecordType: 'Bounce', ID: 42, Type: type, MessageID: 'm-1', Email: 'someone@example.com', BouncedAt: '2019-11-05T16:33:54Z' };
		const { events, ignored } = read(readPostmark(request(JSON.stringify(bounce), headers), AUTH));
		expect(events.map((e) => e.kind)).toEqual(kind ? [kind] : []);
		expect(ignored).toHaveLength(kind ? 0 : 1);
	});

	it('gives the same ids when a record comes again, and distinct ids to distinct records', () => {
		const names = ['postmark-bounce.json', 'postmark-soft-bounce.json', 'postmark-spam-complaint.json', 'postmark-delivery.json', 'postmark-open.json', 'postmark-click.json', 'postmark-subscription-change.json'];
		const first = names.map((name) => only(name).id);
		expect(names.map((name) => only(name).id)).toEqual(first);
		expect(new Set(first).size).toBe(first.length);
		const open = JSON.parse(fixture('postmark-open.json').toString());
		const secondOpen = { ...open, FirstOpen: false, ReceivedAt: '2019-11-06T08:00:00.0000000Z' };
		expect(read(readPostmark(request(JSON.stringify(secondOpen), headers), AUTH)).events[0].id).not.toBe(only('postmark-open.json').id);
	});

	it('refuses a request without the credential with 401, before reading the body', () => {
		expect(refused(readPostmark(request(fixture('postmark-bounce.json')), AUTH)).status).toBe(401);
		expect(refused(readPostmark(request('not json', { authorization: basicHeader(AUTH.user, 'wrong') }), AUTH)).status).toBe(401);
	});

	it('refuses every request when the credential holds neither user and password nor token', () => {
		expect(refused(readPostmark(request(fixture('postmark-bounce.json'), headers), {}))).toMatchObject({
			status: 401,
			error: 'This provider does not sign its webhooks: set a user and password or a token in the credential',
		});
	});

	it('refuses a body that is not JSON with 400', () => {
		expect(refused(readPostmark(request('RecordType=Bounce', headers), AUTH))).toMatchObject({ status: 400, error: expect.stringMatching(/not JSON/) });
	});

	it('passes over records without a recipient, a record type or a time with an offset, naming the field', () => {
		const body = JSON.stringify([
			{ RecordType: 'Delivery', MessageID: 'm-1', DeliveredAt: '2014-08-01T13:28:10Z' },
			{ MessageID: 'm-2', Recipient: 'no.type@example.com' },
			{ RecordType: 'Bounce', Type: 'HardBounce', ID: 7, Email: 'local.time@example.com', BouncedAt: '2019-11-05 16:33:54' },
			{ FromFull: { Email: 'customer@example.com' }, Subject: 'Re: your order' },
			{ RecordType: 'Delivery', MessageID: 'm-3', Recipient: 'kept@example.com', DeliveredAt: '2014-08-01T13:28:10Z' },
		]);
		const { events, ignored } = read(readPostmark(request(body, headers), AUTH));
		expect(events.map((e) => e.email)).toEqual(['kept@example.com']);
		expect(ignored).toEqual([
			{ index: 0, reason: 'The Delivery record has no "Recipient" field' },
			{ index: 1, reason: 'The record has no "RecordType" field' },
			{ index: 2, reason: 'The Bounce record has no valid "BouncedAt" field (ISO 8601 with an offset)' },
			{ index: 3, reason: expect.stringMatching(/inbound message/) },
		]);
	});

	it('refuses more than 1,000 records with 413', () => {
		const delivery = JSON.parse(fixture('postmark-delivery.json').toString());
		expect(refused(readPostmark(request(JSON.stringify(Array(1001).fill(delivery)), headers), AUTH)).status).toBe(413);
	});
});

describe('Mailjet Event API', () => {
	const AUTH = { token: 'example-mj-7Qv2xK9pL4' };
	const url = `${WEBHOOK_URL}?token=${AUTH.token}`;
	const readRaw = (body: Buffer | string) => read(readMailjet(request(body, {}, url), AUTH));

	it('reads grouped events into kinds, times, message ids (Message_GUID, the send API\'s MessageUUID) and CustomIDs', () => {
		const { events } = readRaw(fixture('mailjet-grouped.json'));
		const GUID = '1ab23cd4-e567-8901-2345-6789f0a1b2c3';
		expect(events.map((e) => [e.kind, e.email, e.at, e.providerMessageId, e.sendKey])).toEqual([
			['delivered', 'amelia.hart@example.com', '2015-06-03T12:19:09.000Z', GUID, 'Xk3pWq9TzA1bC2dE:cart-1042:1'],
			['opened', 'amelia.hart@example.com', '2015-05-31T20:18:39.000Z', GUID, 'Xk3pWq9TzA1bC2dE:cart-1042:1'],
			['clicked', 'amelia.hart@example.com', '2015-06-03T12:30:53.000Z', GUID, 'Xk3pWq9TzA1bC2dE:cart-1042:1'],
			['hard_bounce', 'gone.away@example.org', '2015-05-05T07:49:55.000Z', '2bc34de5-f678-9012-3456-7890a1b2c3d4', 'Xk3pWq9TzA1bC2dE:cart-1043:1'],
			['soft_bounce', 'full.mailbox@example.net', '2015-05-05T07:51:00.000Z', '3cd45ef6-a789-0123-4567-8901b2c3d4e5', 'Xk3pWq9TzA1bC2dE:cart-1044:2'],
			['invalid_address', 'gone.before@example.org', '2015-05-05T07:49:55.000Z', '4de56fa7-b890-1234-5678-9012c3d4e5f6', 'Xk3pWq9TzA1bC2dE:cart-1045:1'],
			['complaint', 'amelia.hart@example.com', '2015-05-05T07:49:55.000Z', GUID, 'Xk3pWq9TzA1bC2dE:cart-1042:1'],
			['unsubscribed', 'amelia.hart@example.com', '2015-06-03T12:35:41.000Z', GUID, 'Xk3pWq9TzA1bC2dE:cart-1042:1'],
		]);
		expect(events[2].url).toBe('https://shop.example.com/cart?utm_campaign=cart-recovery');
		expect(events.slice(3, 7).map((e) => e.reason)).toEqual(['recipient: user unknown', 'recipient: quota exceeded', 'blocked: recipient: user unknown', 'spam report (JMRPP)']);
	});

	it('passes over a block that says nothing about the address', () => {
		expect(readRaw(fixture('mailjet-grouped.json')).ignored).toEqual([{ index: 6, reason: 'Mailjet blocked the message for "sender blocked", which says nothing about the address' }]);
	});

	it('reads a single bare event (group events off), by its MessageID (all digits) when it has no Message_GUID; a greylisting is passed over', () => {
		expect(readRaw(fixture('mailjet-single.json'))).toEqual({ ok: true, events: [], ignored: [{ index: 0, reason: expect.stringMatching(/greylisted/) }] });
		const single = '{"event":"sent","time":1433333949,"MessageID":288230382549624080,"email":"amelia.hart@example.com","CustomID":"Xk3pWq9TzA1bC2dE:cart-1042:1"}';
		expect(readRaw(single).events).toEqual([expect.objectContaining({ kind: 'delivered', providerMessageId: '288230382549624080' })]);
	});

	it.each([
		['user unknown', 'invalid_address'],
		['mailbox inactive', 'invalid_address'],
		['invalid domain', 'invalid_address'],
		['no mail host', 'invalid_address'],
		['typofix', 'invalid_address'],
		['spam reporter', 'complaint'],
		['quota exceeded', 'soft_bounce'],
		['preblocked', 'soft_bounce'],
		['blacklisted', undefined],
		['sender blocked', undefined],
		['content blocked', undefined],
		['policy issue', undefined],
		['duplicate in campaign', undefined],
		['system issue', undefined],
	])('reads a blocked event with error "%s" as %s', (error, kind) => {
		const { events } = readRaw(JSON.stringify({ event: 'blocked', time: 1430812195, MessageID: 1, email: 'someone@example.com', error_related_to: 'recipient', error }));
		expect(events.map((e) => e.kind)).toEqual(kind ? [kind] : []);
	});

	it('gives the same ids when events come again, and distinct ids to distinct events', () => {
		const first = ids(readRaw(fixture('mailjet-grouped.json')).events);
		expect(ids(readRaw(fixture('mailjet-grouped.json')).events)).toEqual(first);
		expect(new Set(first).size).toBe(first.length);
	});

	it('refuses a request without the token, or with another one', () => {
		expect(refused(readMailjet(request(fixture('mailjet-grouped.json')), AUTH)).status).toBe(401);
		expect(refused(readMailjet(request(fixture('mailjet-grouped.json'), {}, `${WEBHOOK_URL}?token=guess`), AUTH)).status).toBe(401);
	});

	it('refuses a body that is not JSON with 400', () => {
		expect(refused(readMailjet(request('<xml/>', {}, url), AUTH))).toMatchObject({ status: 400, error: expect.stringMatching(/not JSON/) });
	});

	it('passes over events without a recipient, an event type or a time, naming the field', () => {
		const { events, ignored } = readRaw(
			JSON.stringify([
				null,
				{ event: 'open', time: 1433103519, MessageID: 1 },
				{ time: 1433103519, MessageID: 2, email: 'no.event@example.com' },
				{ event: 'open', MessageID: 3, email: 'no.time@example.com' },
				{ event: 'open', time: 1433103519, MessageID: 4, email: 'kept@example.com' },
			]),
		);
		expect(events.map((e) => e.email)).toEqual(['kept@example.com']);
		expect(ignored).toEqual([
			{ index: 0, reason: 'The event is not a JSON object' },
			{ index: 1, reason: 'The "open" event has no "email" field' },
			{ index: 2, reason: 'The event has no "event" field' },
			{ index: 3, reason: 'The "open" event has no valid "time" field (Unix seconds)' },
		]);
	});

	it('refuses more than 1,000 events with 413', () => {
		expect(refused(readMailjet(request(JSON.stringify(Array(1001).fill({ event: 'sent' })), {}, url), AUTH)).status).toBe(413);
	});
});

describe('Brevo transactional webhooks', () => {
	const AUTH = { token: 'example-brevo-9fK2mQ7x' };
	const headers = { authorization: `Bearer ${AUTH.token}` };
	const readRaw = (body: Buffer | string) => read(readBrevo(request(body, headers), AUTH));
	const only = (name: string) => {
		const { events, ignored } = readRaw(fixture(name));
		expect(ignored).toEqual([]);
		expect(events).toHaveLength(1);
		return events[0];
	};

	it('reads a hard bounce, timed by ts_epoch (UTC), not by ts in the account time zone', () => {
		expect(only('brevo-hard-bounce.json')).toEqual({
			provider: 'brevo',
			id: expect.stringMatching(/^h:[0-9a-f]{32}$/),
			kind: 'hard_bounce',
			email: 'gone.away@example.org',
			at: '2024-03-11T15:24:35.120Z',
			providerMessageId: '<202403111424.98765432109@smtp-relay.mailin.fr>',
			sendKey: 'Xk3pWq9TzA1bC2dE:cart-1043:1',
			reason: 'RecipientError: 550 5.5.0 Requested action not taken: mailbox unavailable.',
		});
	});

	it.each([
		['brevo-soft-bounce.json', 'soft_bounce', '2024-03-11T15:24:36.001Z'],
		['brevo-invalid-email.json', 'invalid_address', '2024-03-11T15:24:37.000Z'],
		['brevo-spam.json', 'complaint', '2024-03-12T15:24:31.000Z'],
		['brevo-unsubscribed.json', 'unsubscribed', '2024-03-12T15:25:00.000Z'],
		['brevo-delivered.json', 'delivered', '2024-03-11T15:24:33.412Z'],
		['brevo-unique-opened.json', 'opened', '2024-03-11T15:30:00.000Z'],
		['brevo-opened.json', 'opened', '2024-03-11T15:30:00.000Z'],
		['brevo-click.json', 'clicked', '2024-03-11T15:31:00.000Z'],
	])('reads %s as %s', (name, kind, at) => {
		expect(only(name)).toMatchObject({ kind, at, sendKey: expect.stringMatching(/^Xk3pWq9TzA1bC2dE:cart-/) });
	});

	it('takes the link of a click and the whole X-Mailin-custom value as the send key', () => {
		expect(only('brevo-click.json')).toMatchObject({ url: 'https://shop.example.com/cart?utm_campaign=cart-recovery', sendKey: 'Xk3pWq9TzA1bC2dE:cart-1042:1' });
		const custom = { ...JSON.parse(fixture('brevo-delivered.json').toString()), 'X-Mailin-custom': '{"rt_key":"k1","campaign":"spring"}' };
		expect(readRaw(JSON.stringify(custom)).events[0].sendKey).toBe('{"rt_key":"k1","campaign":"spring"}');
	});

	it('reads a ts_epoch given in seconds as seconds, and falls back to ts_event without it', () => {
		const documented = { ...JSON.parse(fixture('brevo-error-seconds-epoch.json').toString()), event: 'hard_bounce' };
		expect(readRaw(JSON.stringify(documented)).events[0].at).toBe('2020-11-09T14:53:43.000Z');
		delete documented.ts_epoch;
		expect(readRaw(JSON.stringify(documented)).events[0].at).toBe('2020-11-09T14:54:14.000Z');
	});

	it.each([
		['brevo-request.json', /"request"/],
		['brevo-blocked.json', /"blocked"/],
		['brevo-error-seconds-epoch.json', /"error"/],
	])('passes over %s', (name, reason) => {
		expect(readRaw(fixture(name))).toEqual({ ok: true, events: [], ignored: [{ index: 0, reason: expect.stringMatching(reason) }] });
	});

	it('passes over opens by a privacy proxy', () => {
		const proxy = { ...JSON.parse(fixture('brevo-opened.json').toString()), event: 'proxy_open' };
		expect(readRaw(JSON.stringify(proxy)).ignored[0].reason).toMatch(/privacy proxy/);
	});

	it('gives the same ids when events come again, and distinct ids to distinct events (unique_opened and opened too)', () => {
		const names = ['brevo-hard-bounce.json', 'brevo-soft-bounce.json', 'brevo-invalid-email.json', 'brevo-spam.json', 'brevo-unsubscribed.json', 'brevo-delivered.json', 'brevo-unique-opened.json', 'brevo-opened.json', 'brevo-click.json'];
		const first = names.map((name) => only(name).id);
		expect(names.map((name) => only(name).id)).toEqual(first);
		expect(new Set(first).size).toBe(first.length);
	});

	it('reads a batched webhook (an array of events)', () => {
		const batch = ['brevo-delivered.json', 'brevo-click.json'].map((name) => JSON.parse(fixture(name).toString()));
		expect(readRaw(JSON.stringify(batch)).events.map((e) => e.kind)).toEqual(['delivered', 'clicked']);
	});

	it('refuses a request without the bearer token, or with another one', () => {
		expect(refused(readBrevo(request(fixture('brevo-spam.json')), AUTH)).status).toBe(401);
		expect(refused(readBrevo(request(fixture('brevo-spam.json'), { authorization: 'Bearer guess' }), AUTH)).status).toBe(401);
	});

	it('refuses a body that is not JSON with 400', () => {
		expect(refused(readBrevo(request('event=spam', headers), AUTH))).toMatchObject({ status: 400, error: expect.stringMatching(/not JSON/) });
	});

	it('passes over events without a recipient, an event type or a time, naming the field', () => {
		const { events, ignored } = readRaw(
			JSON.stringify([
				'spam',
				{ event: 'spam', ts_epoch: 1710257071000 },
				{ email: 'no.event@example.com', ts_epoch: 1710257071000 },
				{ event: 'spam', email: 'no.time@example.com' },
				{ event: 'spam', email: 'kept@example.com', ts_epoch: 1710257071000 },
			]),
		);
		expect(events.map((e) => e.email)).toEqual(['kept@example.com']);
		expect(ignored).toEqual([
			{ index: 0, reason: 'The event is not a JSON object' },
			{ index: 1, reason: 'The "spam" event has no "email" field' },
			{ index: 2, reason: 'The event has no "event" field' },
			{ index: 3, reason: 'The "spam" event has no valid "ts_epoch" (milliseconds) or "ts_event" (seconds) field' },
		]);
	});

	it('refuses more than 1,000 events with 413', () => {
		expect(refused(readBrevo(request(JSON.stringify(Array(1001).fill({ event: 'delivered' })), headers), AUTH)).status).toBe(413);
	});
});

describe('credentialProblem (providers that do not sign)', () => {
	const USER_PASSWORD = { user: 'esp-hooks', password: 'example-p4ss-W0rd' };
	const TOKEN = { token: 'example-tok-5hJ8kL2m' };

	it('accepts the right user and password', () => {
		expect(credentialProblem(request('{}', { authorization: basicHeader('esp-hooks', 'example-p4ss-W0rd') }), USER_PASSWORD)).toBeUndefined();
	});

	it.each([
		['a wrong password', basicHeader('esp-hooks', 'example-p4ss-W0rX')],
		['a wrong user', basicHeader('esp-hookz', 'example-p4ss-W0rd')],
		['the password alone', basicHeader('', 'example-p4ss-W0rd')],
		['no colon', `Basic ${Buffer.from('esp-hooksexample-p4ss-W0rd').toString('base64')}`],
	])('refuses %s', (_label, authorization) => {
		expect(credentialProblem(request('{}', { authorization }), USER_PASSWORD)).toBe('The credentials the request carries do not match the ones in the credential');
	});

	it.each([
		['the x-webhook-token header', { 'x-webhook-token': TOKEN.token }, WEBHOOK_URL],
		['a Bearer token', { authorization: `Bearer ${TOKEN.token}` }, WEBHOOK_URL],
		['the token query parameter', {}, `${WEBHOOK_URL}?source=postmark&token=${TOKEN.token}`],
	])('accepts the token in %s', (_label, headers, url) => {
		expect(credentialProblem(request('{}', headers, url), TOKEN)).toBeUndefined();
	});

	it.each([
		['header', { 'x-webhook-token': 'example-tok-5hJ8kL2n' }, WEBHOOK_URL],
		['bearer', { authorization: 'Bearer example-tok-5hJ8kL2' }, WEBHOOK_URL],
		['query', {}, `${WEBHOOK_URL}?token=`],
	])('refuses a wrong token (%s)', (_label, headers, url) => {
		expect(credentialProblem(request('{}', headers, url), TOKEN)).toBeDefined();
	});

	it('accepts either method when both are configured', () => {
		const both = { ...USER_PASSWORD, ...TOKEN };
		expect(credentialProblem(request('{}', { authorization: basicHeader('esp-hooks', 'example-p4ss-W0rd') }), both)).toBeUndefined();
		expect(credentialProblem(request('{}', { 'x-webhook-token': TOKEN.token, authorization: basicHeader('x', 'y') }), both)).toBeUndefined();
	});

	it('does not take a token for a password, nor user and password for a token', () => {
		expect(credentialProblem(request('{}', { 'x-webhook-token': 'example-p4ss-W0rd' }), USER_PASSWORD)).toBeDefined();
		expect(credentialProblem(request('{}', { authorization: basicHeader('any', TOKEN.token) }), TOKEN)).toBeDefined();
	});

	it('refuses everything when nothing is configured', () => {
		const problem = 'This provider does not sign its webhooks: set a user and password or a token in the credential';
		expect(credentialProblem(request('{}', { authorization: basicHeader('', '') }), {})).toBe(problem);
		expect(credentialProblem(request('{}', {}, `${WEBHOOK_URL}?token=`), { user: '', password: '', token: '' })).toBe(problem);
	});

	it('refuses everything when a user is configured without a password', () => {
		expect(credentialProblem(request('{}', { authorization: basicHeader('esp-hooks', '') }), { user: 'esp-hooks' })).toMatch(/user without a password/);
	});

	it('says what is missing when the request carries no credentials, without any secret', () => {
		const problem = credentialProblem(request('{}'), { ...USER_PASSWORD, ...TOKEN });
		expect(problem).toMatch(/carries no credentials/);
		for (const secret of [USER_PASSWORD.user, USER_PASSWORD.password, TOKEN.token]) expect(problem).not.toContain(secret);
	});
});

describe('no addresses in what is logged', () => {
	it('keeps recipients out of the reasons of passed-over events and out of errors', () => {
		const auth = { token: 'example-tok-5hJ8kL2m' };
		const withToken = (body: string) => request(body, { 'x-webhook-token': auth.token });
		const event = (fields: Record<string, unknown>) => JSON.stringify([{ email: 'private.person@example.com', ...fields }]);
		const readings = [
			readMailjet(withToken(event({ event: 'blocked', time: 1, error: 'sender blocked' })), auth),
			readMailjet(withToken(event({ event: 'open', time: 'private.person@example.com' })), auth),
			readBrevo(withToken(event({ event: 'blocked', ts_epoch: 1 })), auth),
			readBrevo(withToken(event({ event: 'spam' })), auth),
			readPostmark(withToken(JSON.stringify({ RecordType: 'Delivery', Recipient: 'private.person@example.com', DeliveredAt: 'yesterday' })), auth),
			readPostmark(withToken('private.person@example.com'), auth),
		];
		for (const reading of readings) expect(JSON.stringify(reading)).not.toContain('private.person');
	});
});
