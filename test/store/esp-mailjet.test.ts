import { sendEmails } from '../../nodes/shared/delivery/email.ts';
import { MailjetSender } from '../../nodes/shared/delivery/mailjet.ts';
import { emailItem, optedIn, providerFixture, providerSettings, sendStatuses } from '../harness/esp.ts';
import { fetchCall } from '../harness/fetch-call.ts';
import { MailjetStandIn } from '../harness/mailjet-stand-in.ts';
import { BACKENDS } from '../harness/stores.ts';

const T = Date.parse('2026-11-20T09:00:00.000Z');

describe.each(BACKENDS)('ESP Send through Mailjet (local stand-in) on %s', (_name, makeFixture) => {
	const ctx = providerFixture(makeFixture, () => new MailjetStandIn());
	const basic = (key: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}` });

	const people = (emails: string[]) => optedIn(ctx.store, emails);
	const item = (email: string) => emailItem(email);
	const sender = (key = ctx.standIn.apiKey, secret = ctx.standIn.apiSecret) => new MailjetSender(fetchCall(() => ctx.base, basic(key, secret)), { campaign: 'cart-recovery' });

	it('sends 120 emails in calls of 50, and maps a partial success message by message', async () => {
		const emails = Array.from({ length: 120 }, (_, i) => (i === 7 ? 'invalid@example.com' : `p${i}@example.com`));
		await people(emails);
		const outcomes = await sendEmails(ctx.store.driver, sender(), emails.map(item), providerSettings('mailjet'), T);
		expect(ctx.standIn.requests.map((r) => r.messages.length)).toEqual([50, 50, 20]);
		expect(ctx.standIn.shapeErrors).toEqual([]);
		expect(outcomes.filter((o) => o.status === 'sent')).toHaveLength(119);
		expect(outcomes[7]).toMatchObject({ status: 'failed', attempts: 1, reason: 'Mailjet refused it: mj-0013 "invalid@example.com" is an invalid email address. (To[0].Email)' });
		expect(outcomes[8]).toMatchObject({ status: 'sent', providerId: 'mj-8' });
		expect(ctx.standIn.requests[0].messages[0]).toMatchObject({
			From: { Email: 'shop@example.com', Name: 'The Shop' },
			To: [{ Email: 'p0@example.com' }],
			Subject: 'Hi Ada',
			CustomID: 'wf:p0@example.com:1',
			CustomCampaign: 'cart-recovery',
			Headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
		});
		const statuses = await sendStatuses(ctx.store.driver);
		expect(Object.values(statuses).filter((s) => s === 'sent')).toHaveLength(119);
		expect(statuses['wf:invalid@example.com:1']).toBe('failed');
	});

	it('retries 429 and 5xx for the whole call; a refused key pair stops the run', async () => {
		await people(['ada@example.com', 'bo@example.com']);
		ctx.standIn.failNext.push({ status: 429, headers: { 'retry-after': '0' } }, { status: 500 });
		const outcomes = await sendEmails(ctx.store.driver, sender(), [item('ada@example.com'), item('bo@example.com')], providerSettings('mailjet'), T);
		expect(outcomes.map((o) => [o.status, o.attempts])).toEqual([
			['sent', 3],
			['sent', 3],
		]);
		expect(ctx.standIn.requests).toHaveLength(3);
		await people(['cy@example.com']);
		await expect(sendEmails(ctx.store.driver, sender('mj-key', 'wrong'), [item('cy@example.com')], providerSettings('mailjet'), T)).rejects.toThrow(
			'the email provider cannot be used: Mailjet 401: the API key and secret were refused. Check the credential.',
		);
		expect(await sendStatuses(ctx.store.driver)).toEqual({ 'wf:ada@example.com:1': 'sent', 'wf:bo@example.com:1': 'sent' });
	});
});
