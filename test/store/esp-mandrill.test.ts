import { sendEmails } from '../../nodes/shared/delivery/email.ts';
import { MandrillSender } from '../../nodes/shared/delivery/mandrill.ts';
import type { HttpCall } from '../../nodes/shared/http.ts';
import { emailItem, optedIn, providerFixture, providerSettings, sendStatuses } from '../harness/esp.ts';
import { fetchCall } from '../harness/fetch-call.ts';
import { MandrillStandIn } from '../harness/mandrill-stand-in.ts';
import { BACKENDS } from '../harness/stores.ts';

const T = Date.parse('2026-11-20T09:00:00.000Z');

describe.each(BACKENDS)('ESP Send through Mailchimp Transactional (local stand-in) on %s', (_name, makeFixture) => {
	const ctx = providerFixture(makeFixture, () => new MandrillStandIn());
	/** What n8n's authenticated request does for the node: the API key added to the JSON body. */
	const http = (key: string): HttpCall => {
		const call = fetchCall(() => ctx.base, {});
		return (request) => call({ ...request, body: { ...(request.body as object), key } });
	};

	beforeEach(() => optedIn(ctx.store, ['ada@example.com', 'bounce@example.com']));

	const item = (email: string) => emailItem(email, { replyTo: 'help@example.com' });

	it('sends in Mandrill shape and maps each recipient status (a rejected address fails alone)', async () => {
		const outcomes = await sendEmails(ctx.store.driver, new MandrillSender(http(ctx.standIn.apiKey), { tag: '_cart-recovery' }), [item('ada@example.com'), item('bounce@example.com')], providerSettings('mandrill'), T);
		expect(outcomes.map((o) => [o.status, o.providerId ?? o.reason])).toEqual([
			['sent', 'md-1'],
			['failed', 'Mailchimp Transactional rejected it: hard-bounce'],
		]);
		expect(ctx.standIn.shapeErrors).toEqual([]);
		expect(ctx.standIn.requests[0].message).toMatchObject({
			subject: 'Hi Ada',
			from_email: 'shop@example.com',
			from_name: 'The Shop',
			to: [{ email: 'ada@example.com', type: 'to' }],
			headers: { 'Reply-To': 'help@example.com', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
			tags: ['cart-recovery'],
			metadata: { rt_key: 'wf:ada@example.com:1' },
		});
		expect(await sendStatuses(ctx.store.driver)).toEqual({ 'wf:ada@example.com:1': 'sent', 'wf:bounce@example.com:1': 'failed' });
	});

	it('retries a rate limit and a server error; a wrong key stops the run', async () => {
		ctx.standIn.failNext.push({ status: 429, headers: { 'retry-after': '0' } }, { status: 503 });
		const [outcome] = await sendEmails(ctx.store.driver, new MandrillSender(http(ctx.standIn.apiKey)), [item('ada@example.com')], providerSettings('mandrill'), T);
		expect(outcome).toMatchObject({ status: 'sent', attempts: 3 });
		await expect(sendEmails(ctx.store.driver, new MandrillSender(http('wrong')), [item('bounce@example.com')], providerSettings('mandrill'), T)).rejects.toThrow(
			'the email provider cannot be used: Mailchimp Transactional 500: Invalid_Key (Invalid API key). Check the API key.',
		);
		expect(await sendStatuses(ctx.store.driver)).toEqual({ 'wf:ada@example.com:1': 'sent' });
	});
});
