import { sendEmails } from '../../nodes/shared/delivery/email.ts';
import { SendGridSender } from '../../nodes/shared/delivery/sendgrid.ts';
import { SendGridStandIn } from '../harness/sendgrid-stand-in.ts';
import { emailItem, optedIn, providerFixture, providerSettings, sendStatuses } from '../harness/esp.ts';
import { fetchCall } from '../harness/fetch-call.ts';
import { BACKENDS } from '../harness/stores.ts';

const T = Date.parse('2026-11-20T09:00:00.000Z');

describe.each(BACKENDS)('ESP Send through SendGrid (local stand-in) on %s', (_name, makeFixture) => {
	const ctx = providerFixture(makeFixture, () => new SendGridStandIn());

	const http = (key: string) => fetchCall(() => ctx.base, { authorization: `Bearer ${key}` });

	beforeEach(() => optedIn(ctx.store, ['ada@example.com', 'invalid@example.com', 'bo@example.com']));

	const settings = providerSettings('sendgrid');
	const item = (email: string) => emailItem(email, { replyTo: 'help@example.com' });
	const statuses = () => sendStatuses(ctx.store.driver);

	it('sends one request a message in SendGrid shape; a refused address fails alone', async () => {
		const outcomes = await sendEmails(ctx.store.driver, new SendGridSender(http(ctx.standIn.apiKey), { category: 'cart-recovery' }), ['ada@example.com', 'invalid@example.com', 'bo@example.com'].map(item), settings, T);
		expect(outcomes.map((o) => [o.status, o.providerId ?? o.reason])).toEqual([
			['sent', 'sg-1'],
			['failed', 'SendGrid 400: personalizations.0.to.0.email: Does not contain a valid address.'],
			['sent', 'sg-2'],
		]);
		expect(ctx.standIn.shapeErrors).toEqual([]);
		expect(ctx.standIn.requests[0].body).toMatchObject({
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
		ctx.standIn.failNext.push({ status: 429, headers: { 'x-ratelimit-reset': String(Math.ceil((now + 200) / 1000)) } }, { status: 502 });
		const started = Date.now();
		const [outcome] = await sendEmails(ctx.store.driver, new SendGridSender(http(ctx.standIn.apiKey)), [item('ada@example.com')], settings, T);
		expect(outcome).toMatchObject({ status: 'sent', attempts: 3 });
		expect(Date.now() - started).toBeGreaterThanOrEqual(Math.ceil((now + 200) / 1000) * 1000 - now - 50);
		await expect(sendEmails(ctx.store.driver, new SendGridSender(http('SG.wrong')), [item('bo@example.com')], settings, T)).rejects.toThrow(
			/SendGrid 401: The provided authorization grant is invalid, expired, or revoked\. Check the API key/,
		);
		expect(await statuses()).toEqual({ 'wf:ada@example.com:1': 'sent' });
	});

	it('keeps up to "calls at once" requests under way, retries a 429 among them, and sends each email once', async () => {
		const emails = Array.from({ length: 40 }, (_, i) => `p${i}@example.com`);
		await optedIn(ctx.store, emails);
		ctx.standIn.latencyMs = 20;
		ctx.standIn.failNext.push({ status: 429, headers: { 'x-ratelimit-reset': '0' } });
		const outcomes = await sendEmails(ctx.store.driver, new SendGridSender(http(ctx.standIn.apiKey)), emails.map(item), { ...settings, parallelCalls: 4 }, T);
		expect(outcomes.filter((o) => o.status === 'sent')).toHaveLength(40);
		expect(ctx.standIn.maxInFlight).toBe(4);
		expect(ctx.standIn.requests).toHaveLength(41);
		const recipients = ctx.standIn.requests.map((r) => (r.body.personalizations as Array<{ to: Array<{ email: string }> }>)[0].to[0].email);
		expect(new Set(recipients).size).toBe(40);
		expect(Object.values(await statuses()).filter((s) => s === 'sent')).toHaveLength(40);
	});
});
