import { type EmailInput, sendEmails } from '../../nodes/shared/delivery/email.ts';
import { SendGridSender } from '../../nodes/shared/delivery/sendgrid.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { SendGridStandIn } from '../harness/sendgrid-stand-in.ts';
import { fetchCall, optedIn, providerSettings, sendStatuses } from '../harness/esp.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

const T = Date.parse('2026-11-20T09:00:00.000Z');

describe.each(BACKENDS)('ESP Send through SendGrid (local stand-in) on %s', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let store: RetargetingStore;
	let sendgrid: SendGridStandIn;
	let base: string;

	const http = (key: string) => fetchCall(() => base, { authorization: `Bearer ${key}` });

	beforeEach(async () => {
		sendgrid = new SendGridStandIn();
		base = await sendgrid.start();
		fixture = makeFixture();
		store = await fixture.open();
		await store.migrate();
		await optedIn(store, ['ada@example.com', 'invalid@example.com', 'bo@example.com']);
	});

	afterEach(async () => {
		await sendgrid.stop();
		await fixture.dispose();
	});

	const settings = providerSettings('sendgrid');
	const item = (email: string): EmailInput => ({
		person: { kind: 'email', value: email },
		key: `wf:${email}:1`,
		step: 1,
		values: {},
		content: { from: { email: 'shop@example.com', name: 'The Shop' }, replyTo: 'help@example.com', subject: 'Hi {first_name}', html: '<p>Hi {first_name}</p>', text: '', unsubscribeUrl: 'https://shop.example/u/{profile_id}' },
	});
	const statuses = () => sendStatuses(store.driver);

	it('sends one request a message in SendGrid shape; a refused address fails alone', async () => {
		const outcomes = await sendEmails(store.driver, new SendGridSender(http(sendgrid.apiKey), { category: 'cart-recovery' }), ['ada@example.com', 'invalid@example.com', 'bo@example.com'].map(item), settings, T);
		expect(outcomes.map((o) => [o.status, o.providerId ?? o.reason])).toEqual([
			['sent', 'sg-1'],
			['failed', 'SendGrid 400: personalizations.0.to.0.email: Does not contain a valid address.'],
			['sent', 'sg-2'],
		]);
		expect(sendgrid.shapeErrors).toEqual([]);
		expect(sendgrid.requests[0].body).toMatchObject({
			personalizations: [{ to: [{ email: 'ada@example.com' }] }],
			from: { email: 'shop@example.com', name: 'The Shop' },
			reply_to: { email: 'help@example.com' },
			subject: 'Hi Ada',
			content: [{ type: 'text/plain', value: 'Hi Ada' }, { type: 'text/html', value: '<p>Hi Ada</p>' }],
			headers: { 'List-Unsubscribe': expect.stringMatching(/^<https:\/\/shop\.example\/u\//), 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
			categories: ['cart-recovery'],
		});
		expect(await statuses()).toEqual({ 'wf:ada@example.com:1': 'sent', 'wf:invalid@example.com:1': 'failed', 'wf:bo@example.com:1': 'sent' });
	});

	it('waits for X-RateLimit-Reset after a 429, retries a 5xx, and a bad key stops the run', async () => {
		const now = Date.now();
		sendgrid.failNext.push({ status: 429, headers: { 'x-ratelimit-reset': String(Math.ceil((now + 200) / 1000)) } }, { status: 502 });
		const started = Date.now();
		const [outcome] = await sendEmails(store.driver, new SendGridSender(http(sendgrid.apiKey)), [item('ada@example.com')], settings, T);
		expect(outcome).toMatchObject({ status: 'sent', attempts: 3 });
		expect(Date.now() - started).toBeGreaterThanOrEqual(Math.ceil((now + 200) / 1000) * 1000 - now - 50);
		await expect(sendEmails(store.driver, new SendGridSender(http('SG.wrong')), [item('bo@example.com')], settings, T)).rejects.toThrow(
			/SendGrid 401: The provided authorization grant is invalid, expired, or revoked\. Check the API key/,
		);
		expect(await statuses()).toEqual({ 'wf:ada@example.com:1': 'sent' });
	});
});
