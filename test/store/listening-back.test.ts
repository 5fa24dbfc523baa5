import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { applyBounceEmail } from '../../nodes/RetargetingProfile/actions/feedback/applyBounceEmail.operation.ts';
import { runConsentCascade } from '../../nodes/shared/audiences/cascade.ts';
import { sha256Hex } from '../../nodes/shared/audiences/identifiers.ts';
import { PARTNERS, type PartnerName } from '../../nodes/shared/audiences/partners.ts';
import { type EmailInput, type EmailSettings, sendEmails } from '../../nodes/shared/delivery/email.ts';
import type { EmailMessage, EmailSender, SendResult } from '../../nodes/shared/delivery/provider.ts';
import type { FeedbackEvent } from '../../nodes/shared/feedback/model.ts';
import { readUnsubscribeToken, signUnsubscribeToken } from '../../nodes/shared/feedback/unsubscribe-token.ts';
import { answerUnsubscribe } from '../../nodes/EmailEventsTrigger/unsubscribePage.ts';
import { consentLogOfSubject, consentSubject } from '../../nodes/shared/store/consent-log.ts';
import { applyFeedback } from '../../nodes/shared/store/feedback.ts';
import { recordAudienceChanges } from '../../nodes/shared/store/audiences.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { AudienceStandIn } from '../harness/audience-stand-in.ts';
import { eventAt } from '../harness/events.ts';
import { fetchCall } from '../harness/fetch-call.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

const T = Date.parse('2026-11-20T09:00:00.000Z');
/** Made at run time: the unsubscribe links' signing key. */
const LINK_KEY = randomBytes(24).toString('hex');

/** An email provider that takes every message and answers with an id of its own. */
class RecordingSender implements EmailSender {
	readonly maxBatch = 50;
	readonly sent: EmailMessage[] = [];
	async sendBatch(messages: EmailMessage[]): Promise<SendResult[]> {
		this.sent.push(...messages);
		return messages.map((_, i) => ({ ok: true, providerId: `prov-${this.sent.length - messages.length + i}` }));
	}
}

describe.each(BACKENDS)('Listening back on %s: consent log, provider events, unsubscribes, consent cascade', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let store: RetargetingStore;

	beforeEach(async () => {
		fixture = makeFixture();
		store = await fixture.open();
		await store.migrate();
		const person = (userId: string, email: string, consent: Record<string, boolean>) =>
			eventAt(T, { type: 'identify', userId, traits: { email, first_name: userId }, context: { consent } });
		await store.appendEvents([person('ada', 'Ada@Example.com', { email: true, ads: true }), person('bo', 'bo@example.com', { email: true, ads: true }), person('cy', 'cy@example.com', { email: true })]);
	});
	afterEach(async () => {
		await fixture.dispose();
	});

	const idOf = async (userId: string) => (await store.findProfile({ userId }))!.id;
	const logOf = async (userId: string) => (await store.exportProfile({ userId }))!.consentLog.map((e) => [e.purpose, e.action, e.source]);

	it('records every change of consent with its source: the tracker, GPC, the Profile node, suppression', async () => {
		await store.appendEvents([eventAt(T + 1000, { type: 'track', event: 'Consent Updated', userId: 'ada', context: { consent: { ads: false } } })]);
		await store.appendEvents([eventAt(T + 2000, { type: 'track', event: 'Page Viewed', userId: 'bo', context: { consent: { ads: false }, consentSource: 'gpc' } })]);
		await store.upsertProfile({ userId: 'cy' }, { consent: { email: false } });
		await store.setSuppressed({ userId: 'cy' }, true, 'asked by phone');
		// The same consent sent again is no change.
		await store.appendEvents([eventAt(T + 3000, { type: 'track', event: 'Consent Updated', userId: 'ada', context: { consent: { ads: false } } })]);
		expect(await logOf('ada')).toEqual([
			['email', 'granted', 'tracking:identify'],
			['ads', 'granted', 'tracking:identify'],
			['ads', 'withdrawn', 'tracking:Consent Updated'],
		]);
		expect(await logOf('bo')).toEqual([
			['email', 'granted', 'tracking:identify'],
			['ads', 'granted', 'tracking:identify'],
			['ads', 'withdrawn', 'gpc'],
		]);
		expect(await logOf('cy')).toEqual([
			['email', 'granted', 'tracking:identify'],
			['email', 'withdrawn', 'profile-node'],
			['all', 'suppressed', 'profile-node'],
		]);
	});

	it('provider events: a hard bounce and a complaint suppress, an unsubscribe withdraws email consent, each once however often delivered; opens and clicks become touchpoints of the send', async () => {
		const sender = new RecordingSender();
		const settings: EmailSettings = {
			campaign: 'cart-recovery',
			source: 'sendgrid',
			requireExplicitConsent: true,
			dryRun: false,
			fields: { cartItems: 'items', recommendations: 'recommendations', recoveryUrl: 'recoveryUrl', currency: 'currency' },
			unsubscribe: { publicUrl: 'https://n8n.example.com/webhook/unsubscribe', secret: LINK_KEY },
		};
		const input = (userId: string): EmailInput => ({
			person: { kind: 'userId', value: userId },
			key: `wf:${userId}:1`,
			step: 1,
			values: {},
			content: { from: { email: 'shop@example.com' }, subject: 'Hi', html: '<a href="{unsubscribe_url}">Unsubscribe</a>', text: '', unsubscribeUrl: '' },
		});
		const sent = await sendEmails(store.driver, sender, ['ada', 'bo', 'cy'].map(input), settings, T);
		expect(sent.map((o) => o.status)).toEqual(['sent', 'sent', 'sent']);
		// The package's link: a signed token of the person and campaign, no address in it.
		const link = sender.sent[0].headers['List-Unsubscribe'].slice(1, -1);
		expect(link).not.toMatch(/ada|example\.com%40|%40/i);
		const token = new URL(link).searchParams.get('t')!;
		expect(readUnsubscribeToken(LINK_KEY, token)).toEqual({ ok: true, claim: { profileId: await idOf('ada'), campaign: 'cart-recovery' } });
		expect(sender.sent[0].headers['X-Retargeting-Key']).toBe('wf:ada:1');
		const [ada] = await store.driver.all<{ provider_id: string }>("SELECT provider_id FROM rt_sends WHERE idempotency_key = 'wf:ada:1'");
		expect(ada.provider_id).toBe('prov-0');

		const event = (id: string, kind: FeedbackEvent['kind'], email: string, extra: Partial<FeedbackEvent> = {}): FeedbackEvent => ({ provider: 'sendgrid', id, kind, email, at: new Date(T + 60_000).toISOString(), ...extra });
		const batch = [
			event('e1', 'opened', 'ada@example.com', { providerMessageId: 'prov-0' }),
			event('e2', 'clicked', 'ada@example.com', { sendKey: 'wf:ada:1', url: 'https://shop.example/cart' }),
			event('e3', 'hard_bounce', 'BO@example.com', { reason: '550 5.1.1 user unknown' }),
			event('e4', 'unsubscribed', 'cy@example.com', { sendKey: 'wf:cy:1' }),
			event('e5', 'complaint', 'nobody@example.com'),
		];
		const first = await applyFeedback(store.driver, batch, { softBounceLimit: 3 });
		expect(first.map((o) => [o.status, o.action, o.campaign])).toEqual([
			['applied', 'touchpoint', 'cart-recovery'],
			['applied', 'touchpoint', 'cart-recovery'],
			['applied', 'suppressed', undefined],
			['applied', 'unsubscribed', 'cart-recovery'],
			['unknown', undefined, undefined],
		]);
		const again = await applyFeedback(store.driver, batch, { softBounceLimit: 3 });
		expect(again.map((o) => o.status)).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'unknown']);
		const touches = await store.driver.all<{ kind: string; campaign: string; medium: string }>("SELECT kind, campaign, medium FROM rt_touchpoints WHERE kind IN ('email_opened', 'email_clicked') ORDER BY kind");
		expect(touches).toEqual([
			{ kind: 'email_clicked', campaign: 'cart-recovery', medium: 'email' },
			{ kind: 'email_opened', campaign: 'cart-recovery', medium: 'email' },
		]);
		const bo = await store.findProfile({ userId: 'bo' });
		expect([bo!.suppressed, bo!.suppressedReason]).toEqual([true, 'hard bounce (sendgrid)']);
		expect((await store.findProfile({ userId: 'cy' }))!.consent.email).toBe(false);
		expect(await logOf('bo')).toContainEqual(['all', 'suppressed', 'sendgrid']);
		expect(await logOf('cy')).toContainEqual(['email', 'withdrawn', 'sendgrid']);
		// The next step skips them, with the reason.
		const next = await sendEmails(store.driver, sender, ['bo', 'cy'].map((u) => ({ ...input(u), key: `wf:${u}:2`, step: 2 })), settings, T + 120_000);
		expect(next.map((o) => [o.status, o.reason])).toEqual([
			['skipped', 'the person is suppressed (hard bounce (sendgrid))'],
			['skipped', 'the person withdrew email consent'],
		]);
	});

	it('soft bounces are counted and suppress after the limit in a row; a delivery between starts the count again', async () => {
		const soft = (n: number, kind: FeedbackEvent['kind'] = 'soft_bounce'): FeedbackEvent => ({ provider: 'postmark', id: `s${n}`, kind, email: 'ada@example.com', at: new Date(T + n * 1000).toISOString() });
		expect((await applyFeedback(store.driver, [soft(1), soft(2)], { softBounceLimit: 3 })).map((o) => o.action)).toEqual(['counted', 'counted']);
		await applyFeedback(store.driver, [soft(3, 'delivered')], { softBounceLimit: 3 });
		expect((await applyFeedback(store.driver, [soft(4), soft(5)], { softBounceLimit: 3 })).map((o) => o.action)).toEqual(['counted', 'counted']);
		expect((await store.findProfile({ userId: 'ada' }))!.suppressed).toBe(false);
		expect((await applyFeedback(store.driver, [soft(6)], { softBounceLimit: 3 })).map((o) => o.action)).toEqual(['suppressed']);
		expect((await store.findProfile({ userId: 'ada' }))!.suppressedReason).toBe('3 soft bounces in a row (postmark)');
	});

	it('plain SMTP: a bounce report from the IMAP trigger (its RAW item) suppresses the address of the send it names; a complaint report too; an auto-reply changes nothing', async () => {
		const fixture = (name: string) => readFileSync(path.join(__dirname, '..', 'fixtures', 'feedback', name), 'utf8');
		await store.appendEvents([eventAt(T, { type: 'identify', userId: 'nobody', traits: { email: 'nobody@example.org' }, context: { consent: { email: true } } })]);
		const bounced = await applyBounceEmail(store, fixture('postfix-dsn-5.1.1.eml'), 3);
		expect(bounced.status).toBe('applied');
		expect(bounced.events.map((e) => [e.email, e.kind, e.status])).toEqual([
			['nobody@example.org', 'invalid_address', 'applied'],
			['closed@example.net', expect.any(String), 'unknown'],
		]);
		expect(await store.findProfile({ userId: 'nobody' })).toMatchObject({ suppressed: true, suppressedReason: 'invalid address (smtp)' });
		expect((await applyBounceEmail(store, fixture('postfix-dsn-5.1.1.eml'), 3)).events.map((e) => e.status)).toEqual(['duplicate', 'unknown']);
		await store.appendEvents([eventAt(T, { type: 'identify', userId: 'user', traits: { email: 'user@example.com' }, context: { consent: { email: true } } })]);
		expect((await applyBounceEmail(store, fixture('arf-abuse.eml'), 3)).events.map((e) => [e.kind, e.status])).toEqual([['complaint', 'applied']]);
		expect((await store.findProfile({ userId: 'user' }))!.suppressed).toBe(true);
		expect(await applyBounceEmail(store, fixture('auto-reply.eml'), 3)).toMatchObject({ status: 'ignored', events: [] });
		expect(await applyBounceEmail(store, undefined, 3)).toMatchObject({ status: 'unreadable' });
	});

	it('the unsubscribe page: GET shows the choice and changes nothing; its form applies "this campaign" or "all"; one click withdraws email consent; a forged token changes nothing', async () => {
		const page = { secret: LINK_KEY, shopName: 'The <Shop>', backUrl: 'https://shop.example' };
		const token = async (userId: string) => signUnsubscribeToken(LINK_KEY, { profileId: await idOf(userId), campaign: 'cart-recovery' });
		const shown = await answerUnsubscribe(store, { method: 'GET', token: await token('ada') }, page);
		expect(shown.status).toBe(200);
		expect(shown.html).toContain('Only this campaign (cart-recovery)');
		expect(shown.html).toContain('The &lt;Shop&gt;');
		expect(shown.html).not.toMatch(/<script/i);
		expect(shown.done).toBeUndefined();
		expect((await store.findProfile({ userId: 'ada' }))!.consent).toEqual({ email: true, ads: true });

		const campaign = await answerUnsubscribe(store, { method: 'POST', body: new URLSearchParams({ t: await token('ada'), scope: 'campaign' }).toString() }, page);
		expect(campaign.done).toEqual({ profileId: await idOf('ada'), campaign: 'cart-recovery', scope: 'campaign', source: 'unsubscribe-page' });
		expect((await store.findProfile({ userId: 'ada' }))!.consent).toEqual({ email: true, ads: true });
		const all = await answerUnsubscribe(store, { method: 'POST', token: await token('bo'), body: 'scope=all' }, page);
		expect(all.done?.scope).toBe('all');
		expect((await store.findProfile({ userId: 'bo' }))!.consent).toEqual({ email: false, ads: false });
		const oneClick = await answerUnsubscribe(store, { method: 'POST', token: await token('cy'), body: 'List-Unsubscribe=One-Click' }, page);
		expect([oneClick.status, oneClick.html]).toEqual([200, '']);
		expect((await store.findProfile({ userId: 'cy' }))!.consent.email).toBe(false);

		const forged = signUnsubscribeToken('another key entirely, 32 chars long', { profileId: await idOf('ada'), campaign: 'cart-recovery' });
		expect((await answerUnsubscribe(store, { method: 'POST', token: forged, body: 'List-Unsubscribe=One-Click' }, page)).status).toBe(400);
		expect((await store.findProfile({ userId: 'ada' }))!.consent.email).toBe(true);
	});

	it('unsubscribing from one campaign stops only that campaign; from all, every email', async () => {
		const sender = new RecordingSender();
		const settings = (campaign: string): EmailSettings => ({ campaign, source: 'smtp', requireExplicitConsent: true, dryRun: false, fields: { cartItems: 'i', recommendations: 'r', recoveryUrl: 'u', currency: 'c' } });
		const input = (key: string): EmailInput => ({ person: { kind: 'userId', value: 'ada' }, key, step: 1, values: {}, content: { from: { email: 'shop@example.com' }, subject: 'Hi', html: 'Hi', text: '', unsubscribeUrl: 'https://shop.example/u' } });
		expect(await store.unsubscribe(await idOf('ada'), { campaign: 'cart-recovery' }, 'unsubscribe-page')).toBe(true);
		const outcomes = [...(await sendEmails(store.driver, sender, [input('k1')], settings('cart-recovery'), T)), ...(await sendEmails(store.driver, sender, [input('k2')], settings('newsletter'), T))];
		expect(outcomes.map((o) => [o.status, o.reason])).toEqual([
			['skipped', 'the person unsubscribed from this campaign'],
			['sent', undefined],
		]);
		await store.unsubscribe(await idOf('ada'), { purposes: ['email'] }, 'one-click');
		expect((await sendEmails(store.driver, sender, [input('k3')], settings('newsletter'), T + 1000))[0].reason).toBe('the person withdrew email consent');
		expect((await store.exportProfile({ userId: 'ada' }))!.consentLog.slice(-2).map((e) => [e.action, e.source, e.detail])).toEqual([
			['withdrawn', 'unsubscribe-page', 'campaign: cart-recovery'],
			['withdrawn', 'one-click', 'all emails'],
		]);
		expect((await store.findProfile({ userId: 'ada' }))!.consent).toEqual({ email: false, ads: true });
		// "All" on the page withdraws ad consent too, which the consent cascade carries to the partners.
		await store.unsubscribe(await idOf('bo'), { purposes: ['email', 'ads'] }, 'unsubscribe-page');
		expect((await store.findProfile({ userId: 'bo' }))!.consent).toEqual({ email: false, ads: false });
		expect((await logOf('bo')).slice(-2)).toEqual([
			['email', 'withdrawn', 'unsubscribe-page'],
			['ads', 'withdrawn', 'unsubscribe-page'],
		]);
		expect(await store.unsubscribe('no-such-profile', { purposes: ['email'] }, 'one-click')).toBe(false);
	});

	describe('consent cascade', () => {
		const standIns = new Map<PartnerName, AudienceStandIn>();
		const bases = new Map<PartnerName, string>();
		beforeAll(async () => {
			for (const name of ['criteo', 'meta'] as const) {
				const standIn = new AudienceStandIn(name);
				standIns.set(name, standIn);
				bases.set(name, await standIn.start());
			}
		});
		afterAll(async () => {
			for (const s of standIns.values()) await s.stop();
		});
		beforeEach(() => {
			for (const s of standIns.values()) {
				s.requests.length = 0;
				s.audiences.clear();
				s.shapeErrors.length = 0;
			}
		});

		const cascade = (partner: 'criteo' | 'meta', asked: string[] = []) =>
			runConsentCascade(
				store.driver,
				async () => {
					asked.push(partner);
					return fetchCall(() => bases.get(partner)!, standIns.get(partner)!.authHeaders());
				},
				{ partnerKey: partner, partner: PARTNERS[partner], target: {}, retry: { attempts: 2, baseDelayMs: 5 }, limit: 1000 },
			);
		const hashed = (email: string) => sha256Hex(email);

		it('takes out of every audience at every partner whoever withdrew ad consent, was suppressed or erased; logs each step; asks for no credential when nobody must leave', async () => {
			const [ada, bo, cy] = [await idOf('ada'), await idOf('bo'), await idOf('cy')];
			for (const [partner, audience] of [['criteo', 'c-1'], ['criteo', 'c-2'], ['meta', 'm-1']] as const) {
				await recordAudienceChanges(store.driver, partner, audience, { added: [ada, bo, cy], removed: [] }, new Date(T));
				for (const email of ['ada@example.com', 'bo@example.com', 'cy@example.com']) standIns.get(partner)!.members(audience).add(partner === 'criteo' ? hashed(email) : hashed(email));
			}
			const asked: string[] = [];
			expect(await cascade('criteo', asked)).toEqual([]);
			expect(asked).toEqual([]);

			await store.appendEvents([eventAt(T + 1000, { type: 'track', event: 'Consent Updated', userId: 'ada', context: { consent: { ads: false } } })]);
			await store.setSuppressed({ userId: 'bo' }, true, 'spam complaint', 'sendgrid');
			await store.eraseProfile({ userId: 'cy' });
			const cySubject = consentSubject(cy);

			const criteo = await cascade('criteo');
			// By audience; within one, living people (by profile id) before the erased.
			const living = [ada, bo].sort();
			expect(criteo.map((o) => [o.audienceId, o.status, o.profileId ?? 'erased'])).toEqual([
				...living.map((id) => ['c-1', 'removed', id]),
				['c-1', 'removed', 'erased'],
				...living.map((id) => ['c-2', 'removed', id]),
				['c-2', 'removed', 'erased'],
			]);
			const meta = await cascade('meta');
			expect(meta.every((o) => o.status === 'removed') && meta.length === 3).toBe(true);
			expect(standIns.get('criteo')!.members('c-1').size + standIns.get('criteo')!.members('c-2').size + standIns.get('meta')!.members('m-1').size).toBe(0);
			expect(standIns.get('criteo')!.shapeErrors).toEqual([]);
			expect(standIns.get('meta')!.shapeErrors).toEqual([]);
			// Done: a second run finds nobody, and makes no call.
			const calls = standIns.get('criteo')!.requests.length;
			expect(await cascade('criteo')).toEqual([]);
			expect(standIns.get('criteo')!.requests.length).toBe(calls);

			expect((await store.exportProfile({ userId: 'ada' }))!.consentLog.filter((e) => e.action === 'left_audience').map((e) => [e.source, e.detail])).toEqual([
				['consent-cascade', 'criteo audience c-1'],
				['consent-cascade', 'criteo audience c-2'],
				['consent-cascade', 'meta audience m-1'],
			]);
			// The erased person's log: hashes and times, no personal value.
			const erased = await consentLogOfSubject(store.driver, cySubject);
			expect(erased.map((e) => [e.purpose, e.action])).toEqual([
				['email', 'granted'],
				['all', 'erased'],
				['ads', 'left_audience'],
				['ads', 'left_audience'],
				['ads', 'left_audience'],
			]);
			const everything = JSON.stringify(await store.driver.all('SELECT * FROM rt_consent_log')) + JSON.stringify(await store.driver.all('SELECT * FROM rt_audience_exits'));
			for (const value of [cy, 'cy@example.com', hashed('cy@example.com')]) expect(everything).not.toContain(value);
		});

		it('a refused removal stays due and is tried again; the erased person stays queued with the reason', async () => {
			const cy = await idOf('cy');
			await recordAudienceChanges(store.driver, 'criteo', 'c-9', { added: [cy], removed: [] }, new Date(T));
			await store.eraseProfile({ userId: 'cy' });
			standIns.get('criteo')!.refuse.add(hashed('cy@example.com'));
			const [failed] = await cascade('criteo');
			expect(failed.status).toBe('failed');
			const [queued] = await store.driver.all<{ attempts: number; last_error: string }>('SELECT attempts, last_error FROM rt_audience_exits');
			expect(queued.attempts).toBe(1);
			expect(queued.last_error).toBeTruthy();
			standIns.get('criteo')!.refuse.clear();
			expect((await cascade('criteo')).map((o) => o.status)).toEqual(['removed']);
			expect(await store.driver.all('SELECT * FROM rt_audience_exits')).toEqual([]);
		});
	});
});
