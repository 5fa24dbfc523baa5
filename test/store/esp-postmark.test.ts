import { sendEmails } from '../../nodes/shared/delivery/email.ts';
import { PostmarkSender } from '../../nodes/shared/delivery/postmark.ts';
import { PostmarkStandIn } from '../harness/postmark-stand-in.ts';
import { emailItem, optedIn, providerFixture, providerSettings, sendStatuses } from '../harness/esp.ts';
import { fetchCall } from '../harness/fetch-call.ts';
import { BACKENDS } from '../harness/stores.ts';

const T = Date.parse('2026-11-20T09:00:00.000Z');

describe.each(BACKENDS)('ESP Send through Postmark (local stand-in) on %s', (_name, makeFixture) => {
	const ctx = providerFixture(makeFixture, () => new PostmarkStandIn());

	const http = (token: string) => fetchCall(() => ctx.base, { 'x-postmark-server-token': token });

	const people = (emails: string[]) => optedIn(ctx.store, emails);
	const settings = providerSettings('postmark');
	const item = (email: string) => emailItem(email, { from: { email: 'shop@example.com', name: 'The "Best" Shop' } });
	const statuses = () => sendStatuses(ctx.store.driver);

	it('maps the per-message results of one batch call: sent, and refused for an inactive recipient', async () => {
		await people(['ada@example.com', 'inactive@example.com', 'bo@example.com']);
		const outcomes = await sendEmails(ctx.store.driver, new PostmarkSender(http(ctx.standIn.token), { messageStream: 'outbound', tag: 'cart-recovery' }), ['ada@example.com', 'inactive@example.com', 'bo@example.com'].map(item), settings, T);
		expect(outcomes.map((o) => o.status)).toEqual(['sent', 'failed', 'sent']);
		expect(outcomes[1].reason).toMatch(/^Postmark error 406: You tried to send to a recipient that has been marked as inactive/);
		expect(ctx.standIn.requests).toHaveLength(1);
		expect(ctx.standIn.shapeErrors).toEqual([]);
		const [first] = ctx.standIn.requests[0].messages;
		expect(first).toMatchObject({ From: '"The \\"Best\\" Shop" <shop@example.com>', To: 'ada@example.com', Subject: 'Hi Ada', MessageStream: 'outbound', Tag: 'cart-recovery' });
		expect(first.Headers).toEqual([
			{ Name: 'List-Unsubscribe', Value: expect.stringMatching(/^<https:\/\/shop\.example\/u\/[0-9a-f-]{36}>$/) },
			{ Name: 'List-Unsubscribe-Post', Value: 'List-Unsubscribe=One-Click' },
			{ Name: 'X-Retargeting-Key', Value: 'wf:ada@example.com:1' },
		]);
		expect(await statuses()).toEqual({ 'wf:ada@example.com:1': 'sent', 'wf:inactive@example.com:1': 'failed', 'wf:bo@example.com:1': 'sent' });
	});

	it('retries 429 (after Retry-After) and 5xx, then sends; the messages go once', async () => {
		await people(['ada@example.com']);
		ctx.standIn.failNext.push({ status: 429, headers: { 'retry-after': '0' } }, { status: 503 });
		const started = Date.now();
		const [outcome] = await sendEmails(ctx.store.driver, new PostmarkSender(http(ctx.standIn.token), { messageStream: 'outbound' }), [item('ada@example.com')], settings, T);
		expect(outcome).toMatchObject({ status: 'sent', attempts: 3, providerId: 'pm-1' });
		expect(ctx.standIn.requests).toHaveLength(3);
		expect(Date.now() - started).toBeGreaterThanOrEqual(30);
		ctx.standIn.failNext.push({ status: 500 }, { status: 500 }, { status: 500 });
		await people(['bo@example.com']);
		const [gaveUp] = await sendEmails(ctx.store.driver, new PostmarkSender(http(ctx.standIn.token), { messageStream: 'outbound' }), [item('bo@example.com')], settings, T);
		expect(gaveUp).toMatchObject({ status: 'failed', attempts: 3, reason: 'Postmark 500 (error 500): Internal server error' });
		expect(await statuses()).toEqual({ 'wf:ada@example.com:1': 'sent', 'wf:bo@example.com:1': 'failed' });
	});

	it('does not hold the run when Postmark asks to wait longer than a minute: the email fails with the wait, and a later run sends it once', async () => {
		await people(['ada@example.com']);
		ctx.standIn.failNext.push({ status: 429, headers: { 'retry-after': '7200' } });
		const [later] = await sendEmails(ctx.store.driver, new PostmarkSender(http(ctx.standIn.token), { messageStream: 'outbound' }), [item('ada@example.com')], settings, T);
		expect(later).toMatchObject({ status: 'failed', attempts: 1 });
		expect(later.reason).toMatch(/^Postmark 429.*; asked to wait 7200 s, longer than a run waits \(60 s\): run again later$/);
		const [sent] = await sendEmails(ctx.store.driver, new PostmarkSender(http(ctx.standIn.token), { messageStream: 'outbound' }), [item('ada@example.com')], settings, T);
		expect(sent).toMatchObject({ status: 'sent', attempts: 1 });
		expect(ctx.standIn.requests).toHaveLength(2);
		expect(await statuses()).toEqual({ 'wf:ada@example.com:1': 'sent' });
	});

	it('a refused server token stops the run and keeps nothing reserved', async () => {
		await people(['ada@example.com']);
		await expect(sendEmails(ctx.store.driver, new PostmarkSender(http('wrong'), { messageStream: 'outbound' }), [item('ada@example.com')], settings, T)).rejects.toThrow(
			/the email provider cannot be used: Postmark 401 \(error 10\): Bad or missing Server API token\. Check the server token\./,
		);
		expect(await statuses()).toEqual({});
	});

	it('splits 501 messages into batches of 500 and 1', async () => {
		const emails = Array.from({ length: 501 }, (_, i) => `p${i}@example.com`);
		await people(emails);
		const outcomes = await sendEmails(ctx.store.driver, new PostmarkSender(http(ctx.standIn.token), { messageStream: 'outbound' }), emails.map(item), settings, T);
		expect(outcomes.filter((o) => o.status === 'sent')).toHaveLength(501);
		expect(ctx.standIn.requests.map((r) => r.messages.length)).toEqual([500, 1]);
		expect(ctx.standIn.shapeErrors).toEqual([]);
	});
});
