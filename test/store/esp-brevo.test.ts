import { sendEmails } from '../../nodes/shared/delivery/email.ts';
import { BrevoSender } from '../../nodes/shared/delivery/brevo.ts';
import { BrevoStandIn } from '../harness/brevo-stand-in.ts';
import { emailItem, optedIn, providerFixture, providerSettings, sendStatuses } from '../harness/esp.ts';
import { fetchCall } from '../harness/fetch-call.ts';
import { BACKENDS } from '../harness/stores.ts';

const T = Date.parse('2026-11-20T09:00:00.000Z');

describe.each(BACKENDS)('ESP Send through Brevo (local stand-in) on %s', (_name, makeFixture) => {
	const ctx = providerFixture(makeFixture, () => new BrevoStandIn());

	const people = (emails: string[]) => optedIn(ctx.store, emails);
	const settings = providerSettings('brevo');
	const item = (email: string) => emailItem(email, { replyTo: 'help@example.com' });
	const sender = (key = ctx.standIn.apiKey) => new BrevoSender(fetchCall(() => ctx.base, { 'api-key': key }), { tag: 'cart-recovery' });
	const profileIdOf = async (email: string) => (await ctx.store.findProfile({ email }))!.id;

	it('sends 1,001 emails in versions of 1,000 and 1, each with its own headers and message ID', async () => {
		const emails = Array.from({ length: 1001 }, (_, i) => `p${i}@example.com`);
		await people(emails);
		const outcomes = await sendEmails(ctx.store.driver, sender(), emails.map(item), settings, T);
		expect(ctx.standIn.shapeErrors).toEqual([]);
		expect(ctx.standIn.requests.map((r) => (r.body.messageVersions as unknown[]).length)).toEqual([1000, 1]);
		expect(outcomes.filter((o) => o.status === 'sent')).toHaveLength(1001);
		expect(outcomes[1]).toMatchObject({ status: 'sent', providerId: '<brevo-2@smtp-relay.mailin.fr>', attempts: 1 });
		const first = ctx.standIn.requests[0].body;
		expect(first).toMatchObject({ sender: { email: 'shop@example.com', name: 'The Shop' }, tags: ['cart-recovery'] });
		expect((first.headers as Record<string, string>).idempotencyKey).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
		expect((first.messageVersions as unknown[])[1]).toEqual({
			to: [{ email: 'p1@example.com' }],
			replyTo: { email: 'help@example.com' },
			subject: 'Hi Ada',
			htmlContent: '<p>Hi Ada</p>',
			textContent: 'Hi Ada',
			headers: { 'List-Unsubscribe': `<https://shop.example/u/${await profileIdOf('p1@example.com')}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click', 'X-Retargeting-Key': 'wf:p1@example.com:1', 'X-Mailin-custom': 'wf:p1@example.com:1' },
		});
		expect(ctx.standIn.delivered).toHaveLength(1001);
	});

	it('a batch Brevo refuses for one address is sent again message by message: the others go, the bad one fails with the reason', async () => {
		const emails = ['ada@example.com', 'invalid@example.com', 'cy@example.com'];
		await people(emails);
		const outcomes = await sendEmails(ctx.store.driver, sender(), emails.map(item), settings, T);
		expect(ctx.standIn.requests.map((r) => (r.body.messageVersions as unknown[]).length)).toEqual([3, 1, 1, 1]);
		expect(outcomes.map((o) => o.status)).toEqual(['sent', 'failed', 'sent']);
		expect(outcomes[1].reason).toBe('Brevo 400 (invalid_parameter): email is not valid in to: invalid@example.com');
		expect(ctx.standIn.delivered).toEqual(['ada@example.com', 'cy@example.com']);
		expect(await sendStatuses(ctx.store.driver)).toEqual({ 'wf:ada@example.com:1': 'sent', 'wf:invalid@example.com:1': 'failed', 'wf:cy@example.com:1': 'sent' });
	});

	it('retries 429 (after x-sib-ratelimit-reset) and 5xx, then sends each email once', async () => {
		await people(['ada@example.com', 'bo@example.com']);
		ctx.standIn.failNext.push({ status: 429, headers: { 'x-sib-ratelimit-reset': '0' } }, { status: 502 });
		const outcomes = await sendEmails(ctx.store.driver, sender(), [item('ada@example.com'), item('bo@example.com')], settings, T);
		expect(outcomes.map((o) => [o.status, o.attempts])).toEqual([
			['sent', 3],
			['sent', 3],
		]);
		expect(ctx.standIn.requests).toHaveLength(3);
		expect(new Set(ctx.standIn.requests.map((r) => (r.body.headers as Record<string, string>).idempotencyKey)).size).toBe(1);
		expect(ctx.standIn.delivered).toEqual(['ada@example.com', 'bo@example.com']);
	});

	it('a batch taken but never answered is made again under the same idempotency key: Brevo refuses the repeat, so all count as sent, once', async () => {
		const emails = ['ada@example.com', 'bo@example.com', 'cy@example.com'];
		await people(emails);
		ctx.standIn.dropAnswers = 1;
		const outcomes = await sendEmails(ctx.store.driver, sender(), emails.map(item), settings, T);
		expect(outcomes.map((o) => [o.status, o.attempts])).toEqual([
			['sent', 2],
			['sent', 2],
			['sent', 2],
		]);
		// No message-by-message split after the refused repeat: two calls in all.
		expect(ctx.standIn.requests).toHaveLength(2);
		expect(ctx.standIn.delivered).toEqual(emails);
		expect(Object.values(await sendStatuses(ctx.store.driver))).toEqual(['sent', 'sent', 'sent']);
	});

	it('a call never answered at all stays pending: not sent again by a later run', async () => {
		await people(['ada@example.com']);
		ctx.standIn.dropAnswers = 3;
		const [outcome] = await sendEmails(ctx.store.driver, sender(), [item('ada@example.com')], settings, T);
		expect(outcome).toMatchObject({ status: 'failed', attempts: 3 });
		expect(outcome.reason).toMatch(/^Brevo did not answer/);
		expect(await sendStatuses(ctx.store.driver)).toEqual({ 'wf:ada@example.com:1': 'pending' });
		const [again] = await sendEmails(ctx.store.driver, sender(), [item('ada@example.com')], settings, T);
		expect(again).toMatchObject({ status: 'skipped', reason: 'an earlier attempt with this idempotency key was never confirmed; not sent again, to avoid a double' });
		expect(ctx.standIn.requests).toHaveLength(3);
	});

	it('a refused key stops the run and keeps nothing reserved', async () => {
		await people(['ada@example.com']);
		await expect(sendEmails(ctx.store.driver, sender('xkeysib-wrong'), [item('ada@example.com')], settings, T)).rejects.toThrow(
			'the email provider cannot be used: Brevo 401 (unauthorized): Key not found. Check the API key (an SMTP key does not work here).',
		);
		expect(await sendStatuses(ctx.store.driver)).toEqual({});
	});
});
