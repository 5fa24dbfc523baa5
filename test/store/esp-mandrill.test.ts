import { type EmailInput, sendEmails } from '../../nodes/shared/delivery/email.ts';
import { MandrillSender } from '../../nodes/shared/delivery/mandrill.ts';
import type { HttpCall } from '../../nodes/shared/delivery/provider.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { fetchCall, optedIn, providerSettings, sendStatuses } from '../harness/esp.ts';
import { MandrillStandIn } from '../harness/mandrill-stand-in.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

const T = Date.parse('2026-11-20T09:00:00.000Z');

describe.each(BACKENDS)('ESP Send through Mailchimp Transactional (local stand-in) on %s', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let store: RetargetingStore;
	let mandrill: MandrillStandIn;
	let base: string;
	/** What n8n's authenticated request does for the node: the API key added to the JSON body. */
	const http = (key: string): HttpCall => {
		const call = fetchCall(() => base, {});
		return (request) => call({ ...request, body: { ...(request.body as object), key } });
	};

	beforeEach(async () => {
		mandrill = new MandrillStandIn();
		base = await mandrill.start();
		fixture = makeFixture();
		store = await fixture.open();
		await store.migrate();
		await optedIn(store, ['ada@example.com', 'bounce@example.com']);
	});

	afterEach(async () => {
		await mandrill.stop();
		await fixture.dispose();
	});

	const item = (email: string): EmailInput => ({
		person: { kind: 'email', value: email },
		key: `wf:${email}:1`,
		step: 1,
		values: {},
		content: { from: { email: 'shop@example.com', name: 'The Shop' }, replyTo: 'help@example.com', subject: 'Hi {first_name}', html: '<p>Hi {first_name}</p>', text: '', unsubscribeUrl: 'https://shop.example/u/{profile_id}' },
	});

	it('sends in Mandrill shape and maps each recipient status (a rejected address fails alone)', async () => {
		const outcomes = await sendEmails(store.driver, new MandrillSender(http(mandrill.apiKey), { tag: '_cart-recovery' }), [item('ada@example.com'), item('bounce@example.com')], providerSettings('mandrill'), T);
		expect(outcomes.map((o) => [o.status, o.providerId ?? o.reason])).toEqual([
			['sent', 'md-1'],
			['failed', 'Mailchimp Transactional rejected it: hard-bounce'],
		]);
		expect(mandrill.shapeErrors).toEqual([]);
		expect(mandrill.requests[0].message).toMatchObject({
			subject: 'Hi Ada',
			from_email: 'shop@example.com',
			from_name: 'The Shop',
			to: [{ email: 'ada@example.com', type: 'to' }],
			headers: { 'Reply-To': 'help@example.com', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
			tags: ['cart-recovery'],
			metadata: { rt_key: 'wf:ada@example.com:1' },
		});
		expect(await sendStatuses(store.driver)).toEqual({ 'wf:ada@example.com:1': 'sent', 'wf:bounce@example.com:1': 'failed' });
	});

	it('retries a rate limit and a server error; a wrong key stops the run', async () => {
		mandrill.failNext.push({ status: 429, headers: { 'retry-after': '0' } }, { status: 503 });
		const [outcome] = await sendEmails(store.driver, new MandrillSender(http(mandrill.apiKey)), [item('ada@example.com')], providerSettings('mandrill'), T);
		expect(outcome).toMatchObject({ status: 'sent', attempts: 3 });
		await expect(sendEmails(store.driver, new MandrillSender(http('wrong')), [item('bounce@example.com')], providerSettings('mandrill'), T)).rejects.toThrow(
			'the email provider cannot be used: Mailchimp Transactional 500: Invalid_Key (Invalid API key). Check the API key.',
		);
		expect(await sendStatuses(store.driver)).toEqual({ 'wf:ada@example.com:1': 'sent' });
	});
});
