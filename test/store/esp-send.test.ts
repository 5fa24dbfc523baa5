import { type EmailInput, type EmailSettings, type MessageContent, sendEmails } from '../../nodes/shared/delivery/email.ts';
import type { EmailSender, SendResult } from '../../nodes/shared/delivery/provider.ts';
import { SmtpSender } from '../../nodes/shared/delivery/smtp.ts';
import { parseEvent, type TrackedEvent } from '../../nodes/shared/events/model.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { decoded, TestSmtpServer } from '../harness/smtp.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

const T = Date.parse('2026-11-20T09:00:00.000Z');
let sequence = 0;

function at(ms: number, raw: Record<string, unknown>): TrackedEvent {
	const result = parseEvent({ messageId: `es-${++sequence}`, timestamp: new Date(ms).toISOString(), ...raw });
	if (!result.ok) throw new Error(JSON.stringify(result.errors));
	return result.event;
}

describe.each(BACKENDS)('ESP Send over SMTP on %s', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let store: RetargetingStore;
	let smtp: TestSmtpServer;
	let sender: SmtpSender;

	beforeEach(async () => {
		smtp = new TestSmtpServer();
		sender = new SmtpSender({ host: '127.0.0.1', port: await smtp.start(), secure: false });
		fixture = makeFixture();
		store = await fixture.open();
		await store.migrate();
		const person = (userId: string, email: string, consent: Record<string, boolean>, traits: Record<string, unknown> = {}) =>
			at(T, { type: 'identify', userId, traits: { email, ...traits }, context: { consent } });
		await store.appendEvents([
			person('ada', 'ada@example.com', { email: true }, { first_name: '<b>Ada & co</b>' }),
			person('nobody-asked', 'silent@example.com', {}),
			person('withdrawn', 'no@example.com', { email: false }),
			person('suppressed', 'sup@example.com', { email: true }),
			person('bouncer', 'bounce@example.com', { email: true }),
			person('grey', 'grey@example.com', { email: true }),
		]);
		await store.setSuppressed({ userId: 'suppressed' }, true, 'complaint');
	});

	afterEach(async () => {
		sender.close();
		await smtp.stop();
		await fixture.dispose();
	});

	const content: MessageContent = {
		from: { email: 'shop@example.com', name: 'The Shop' },
		replyTo: 'help@example.com',
		subject: 'Hi {first_name}, your cart is waiting',
		html: '<p>Hello {first_name},</p>{cart_items}<p><a href="{recovery_url}">Back to your cart</a> {coupon}</p><p><a href="{unsubscribe_url}">Unsubscribe</a></p>',
		text: '',
		unsubscribeUrl: 'https://shop.example/unsubscribe?p={profile_id}',
	};
	const settings = (changes: Partial<EmailSettings> = {}): EmailSettings => ({
		campaign: 'cart-recovery',
		source: 'smtp',
		requireExplicitConsent: true,
		dryRun: false,
		fields: { cartItems: 'items', recommendations: 'recommendations', recoveryUrl: 'recoveryUrl', currency: 'currency' },
		retry: { attempts: 3, baseDelayMs: 10 },
		...changes,
	});
	const item = (userId: string, step = 1): EmailInput => ({
		person: { kind: 'userId', value: userId },
		key: `wf:${userId}:${step}`,
		step,
		content,
		values: {
			cartId: `c-${userId}`,
			currency: 'EUR',
			recoveryUrl: 'https://shop.example/cart?id=c-1',
			items: [{ name: 'Mug <"Classic">', price: 12.5, quantity: 2 }],
		},
	});

	it('sends a multipart message with one-click unsubscribe headers and escaped values, and records it', async () => {
		const [outcome] = await sendEmails(store.driver, sender, [item('ada')], settings(), T);
		expect(outcome).toMatchObject({ status: 'sent', to: 'ada@example.com', attempts: 1, subject: 'Hi <b>Ada & co</b>, your cart is waiting', missingVariables: ['coupon'] });
		expect(smtp.messages).toHaveLength(1);
		const raw = decoded(smtp.messages[0].raw);
		const profileId = (await store.findProfile({ userId: 'ada' }))!.id;
		expect(raw).toContain(`List-Unsubscribe: <https://shop.example/unsubscribe?p=${profileId}>`);
		expect(raw).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
		expect(raw).toMatch(/Content-Type: multipart\/alternative/);
		expect(raw).toMatch(/Content-Type: text\/plain/);
		expect(raw).toMatch(/Content-Type: text\/html/);
		expect(raw).toContain('Reply-To: help@example.com');
		expect(raw).toContain('<p>Hello &lt;b&gt;Ada &amp; co&lt;/b&gt;,</p>');
		expect(raw).toContain('Mug &lt;&quot;Classic&quot;&gt;');
		// Raw only where it is not HTML: the subject and the plain-text part.
		expect(raw.slice(raw.indexOf('Content-Type: text/html'))).not.toContain('<b>Ada');
		expect(raw).toMatch(/https:\/\/shop\.example\/cart\?id=c-1&amp;utm_source=smtp&amp;utm_medium=email&amp;utm_campaign=cart-recovery&amp;utm_content=step-1&amp;rt_cid=[0-9a-f]{16}/);
		// The plain-text part has the items and the link, unescaped.
		expect(raw).toMatch(/- Mug <"Classic"> × 2 {2}€12\.50/);
		const [send] = await store.driver.all<{ status: string; channel: string; step: number }>('SELECT status, channel, step FROM rt_sends');
		expect(send).toEqual({ status: 'sent', channel: 'email', step: 1 });
		const touchpoints = await store.driver.all<{ kind: string; channel: string; campaign: string; click_id: string }>(
			"SELECT kind, channel, campaign, click_id FROM rt_touchpoints WHERE kind = 'email_sent'",
		);
		expect(touchpoints).toEqual([{ kind: 'email_sent', channel: 'email', campaign: 'cart-recovery', click_id: expect.stringMatching(/^[0-9a-f]{16}$/) }]);
	});

	it('a retried execution never sends twice; an unconfirmed earlier attempt is not repeated either', async () => {
		await sendEmails(store.driver, sender, [item('ada')], settings(), T);
		const again = await sendEmails(store.driver, sender, [item('ada'), item('ada', 2), item('ada', 2)], settings({ cap: undefined }), T + 60_000);
		expect(again.map((o) => [o.status, o.reason])).toEqual([
			['skipped', 'already sent (same idempotency key)'],
			['sent', undefined],
			['skipped', 'another item of this run has the same idempotency key'],
		]);
		expect(smtp.messages).toHaveLength(2);
		await store.driver.run("UPDATE rt_sends SET status = 'pending' WHERE idempotency_key = 'wf:ada:2'");
		const [crashed] = await sendEmails(store.driver, sender, [item('ada', 2)], settings(), T + 120_000);
		expect(crashed.reason).toMatch(/never confirmed; not sent again/);
		expect(smtp.messages).toHaveLength(2);
	});

	it('checks consent, suppression and the frequency cap before each send', async () => {
		const outcomes = await sendEmails(
			store.driver,
			sender,
			[item('nobody-asked'), item('withdrawn'), item('suppressed'), item('unknown')],
			settings(),
			T,
		);
		expect(outcomes.map((o) => `${o.status}: ${o.reason}`)).toEqual([
			'skipped: the person never gave email consent',
			'skipped: the person withdrew email consent',
			'skipped: the person is suppressed (complaint)',
			'skipped: this person is not in the store',
		]);
		const [notWithdrawn] = await sendEmails(store.driver, sender, [item('nobody-asked')], settings({ requireExplicitConsent: false }), T);
		expect(notWithdrawn.status).toBe('sent');
		const capped = settings({ cap: { max: 1, withinHours: 24 } });
		expect((await sendEmails(store.driver, sender, [item('ada', 1)], capped, T))[0].status).toBe('sent');
		expect(await sendEmails(store.driver, sender, [item('ada', 2)], capped, T + 3_600_000)).toMatchObject([
			{ status: 'skipped', reason: 'frequency cap: 1 email(s) within 24 h already' },
		]);
		expect((await sendEmails(store.driver, sender, [item('ada', 2)], capped, T + 25 * 3_600_000))[0].status).toBe('sent');
		// Two emails for one person in one run: the cap counts the first.
		const both = await sendEmails(store.driver, sender, [item('grey', 1), item('grey', 2)], capped, T);
		expect(both.map((o) => o.status)).toEqual(['sent', 'skipped']);
		expect(smtp.messages.map((m) => m.to[0])).toEqual(['silent@example.com', 'ada@example.com', 'ada@example.com', 'grey@example.com']);
	});

	it('holds the frequency cap when several processes send to one person at once', async () => {
		const capped = settings({ cap: { max: 1, withinHours: 24 } });
		// Three n8n processes, each with its own connection to the store, run the same campaign's other steps for Ada.
		const processes = [store, await fixture.open(), await fixture.open()];
		const outcomes = await Promise.all(processes.map(async (s, i) => (await sendEmails(s.driver, sender, [item('ada', i + 1)], capped, T))[0]));
		expect(outcomes.map((o) => o.status).sort()).toEqual(['sent', 'skipped', 'skipped']);
		expect(outcomes.filter((o) => o.status === 'skipped').map((o) => o.reason)).toEqual(Array(2).fill('frequency cap: 1 email(s) within 24 h already'));
		expect(smtp.messages.map((m) => m.to[0])).toEqual(['ada@example.com']);
		const [{ n }] = await store.driver.all<{ n: number }>("SELECT COUNT(*) AS n FROM rt_sends WHERE status <> 'failed'");
		expect(Number(n)).toBe(1);
	});

	it('does not retry a permanent refusal, retries a temporary one, and a failed send can be retried later', async () => {
		smtp.greylist.set('grey@example.com', 2);
		const outcomes = await sendEmails(store.driver, sender, [item('bouncer'), item('grey')], settings(), T);
		expect(outcomes[0]).toMatchObject({ status: 'failed', attempts: 1, reason: expect.stringContaining('550') });
		expect(outcomes[1]).toMatchObject({ status: 'sent', attempts: 3 });
		const statuses = await store.driver.all<{ idempotency_key: string; status: string }>('SELECT idempotency_key, status FROM rt_sends ORDER BY idempotency_key');
		expect(statuses).toEqual([
			{ idempotency_key: 'wf:bouncer:1', status: 'failed' },
			{ idempotency_key: 'wf:grey:1', status: 'sent' },
		]);
		const [later] = await sendEmails(store.driver, sender, [item('bouncer')], settings(), T + 60_000);
		expect(later).toMatchObject({ status: 'failed', attempts: 1 });
	});

	it('dry run renders only; test mode sends everything to one address; neither records anything', async () => {
		const [dry] = await sendEmails(store.driver, sender, [item('ada')], settings({ dryRun: true }), T);
		expect(dry).toMatchObject({ status: 'rendered', to: 'ada@example.com', html: expect.stringContaining('&lt;b&gt;Ada') });
		expect(dry.text).toContain('Back to your cart (https://shop.example/cart?id=c-1&utm_source=smtp');
		const [test] = await sendEmails(store.driver, sender, [item('ada')], settings({ testAddress: 'qa@example.com' }), T);
		expect(test).toMatchObject({ status: 'sent', to: 'qa@example.com' });
		expect(smtp.messages.map((m) => m.to)).toEqual([['qa@example.com']]);
		expect(await store.driver.all('SELECT * FROM rt_sends')).toEqual([]);
		expect((await sendEmails(store.driver, sender, [item('ada')], settings(), T))[0].status).toBe('sent');
	});

	it('an unclear outcome stays pending (never sent again); an unusable server stops the run and keeps nothing reserved', async () => {
		const answering = (result: SendResult): EmailSender => ({ maxBatch: 10, sendBatch: async (messages) => messages.map(() => result) });
		const dropped = answering({ ok: false, retryable: false, unknown: true, reason: 'connection reset' });
		const [unclear] = await sendEmails(store.driver, dropped, [item('ada')], settings(), T);
		expect(unclear).toMatchObject({ status: 'failed', attempts: 1 });
		expect(await store.driver.all('SELECT status FROM rt_sends')).toEqual([{ status: 'pending' }]);
		expect((await sendEmails(store.driver, sender, [item('ada')], settings(), T))[0].reason).toMatch(/never confirmed/);

		const refused = answering({ ok: false, retryable: false, fatal: true, reason: '535 authentication failed' });
		await expect(sendEmails(store.driver, refused, [item('grey'), item('nobody-asked')], settings({ requireExplicitConsent: false }), T)).rejects.toThrow(
			'the email provider cannot be used: 535 authentication failed',
		);
		expect(await store.driver.all("SELECT idempotency_key FROM rt_sends WHERE idempotency_key <> 'wf:ada:1'")).toEqual([]);
		expect((await sendEmails(store.driver, sender, [item('grey')], settings(), T))[0].status).toBe('sent');
	});

	it('bad cart lines (null, a price that is not a number) do not stop an email; every send is confirmed', async () => {
		const broken = { ...item('grey'), content: { ...content, html: '{cart_items}' }, values: { items: [null, { name: 'Tea', price: 'x' }] } };
		const outcomes = await sendEmails(store.driver, sender, [item('ada'), broken as EmailInput], settings(), T);
		expect(outcomes.map((o) => o.status)).toEqual(['sent', 'sent']);
		expect(await store.driver.all("SELECT status FROM rt_sends WHERE status <> 'sent'")).toEqual([]);
	});

	it('refuses an address that is a list, and keeps the real person unsubscribe link out of test mails', async () => {
		await store.appendEvents([at(T, { type: 'identify', userId: 'list', traits: { email: 'a@example.com, b@example.com' }, context: { consent: { email: true } } })]);
		expect((await sendEmails(store.driver, sender, [item('list')], settings(), T))[0].reason).toBe('the email address of the person is not one valid address');
		await sendEmails(store.driver, sender, [item('ada')], settings({ testAddress: 'qa@example.com' }), T);
		expect(decoded(smtp.messages[0].raw)).toContain('List-Unsubscribe: <https://shop.example/unsubscribe?p=test-mode>');
	});
});
