import { sha256Hex } from '../../nodes/shared/audiences/identifiers.ts';
import { PARTNERS, type PartnerName } from '../../nodes/shared/audiences/partners.ts';
import { pushAudience, type PushSettings } from '../../nodes/shared/audiences/push.ts';
import { insertRows } from '../../nodes/shared/store/sql.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { AudienceStandIn } from '../harness/audience-stand-in.ts';
import { fetchCall } from '../harness/fetch-call.ts';
import { eventAt } from '../harness/events.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

const T = Date.parse('2026-11-20T09:00:00.000Z');

describe.each(BACKENDS)('Banner Partner Push against local partner stand-ins on %s', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let store: RetargetingStore;
	const standIns = new Map<PartnerName, AudienceStandIn>();
	const bases = new Map<PartnerName, string>();

	beforeAll(async () => {
		for (const name of Object.keys(PARTNERS) as PartnerName[]) {
			const standIn = new AudienceStandIn(name);
			standIns.set(name, standIn);
			bases.set(name, await standIn.start());
		}
	});
	afterAll(async () => {
		for (const s of standIns.values()) await s.stop();
	});
	beforeEach(async () => {
		fixture = makeFixture();
		store = await fixture.open();
		await store.migrate();
		for (const s of standIns.values()) {
			s.requests.length = 0;
			s.audiences.clear();
			s.refuse.clear();
			s.shapeErrors.length = 0;
		}
	});
	afterEach(async () => {
		await fixture.dispose();
	});

	/** People p-0 … p-(n-1) with ad consent, except (unless all consent) every tenth (no answer) and every 25th (suppressed). */
	const people = async (n: number, allConsent = false) => {
		const now = new Date(T).toISOString();
		const rows = Array.from({ length: n }, (_, i) => [
			`p-${i}`,
			`u-${i}`,
			`p${i}@example.com`,
			JSON.stringify({ first_name: 'Ada' }),
			JSON.stringify(!allConsent && i % 10 === 9 ? {} : { ads: true }),
			!allConsent && i % 25 === 24 ? 1 : 0,
			now,
			now,
		]);
		for (let i = 0; i < rows.length; i += 2000) await insertRows(store.driver, 'INSERT INTO rt_profiles (id, user_id, email, traits, consent, suppressed, first_seen, last_seen)', rows.slice(i, i + 2000));
	};
	const items = (ids: number[]) => ids.map((i) => ({ person: { kind: 'profileId' as const, value: `p-${i}` } }));
	const settings = (partner: PartnerName, operation: PushSettings['operation'], audienceId = 'aud-1'): PushSettings => ({
		partnerKey: partner,
		partner: PARTNERS[partner],
		operation,
		target: { audienceId, accountId: 'acc-1' },
		requireExplicitConsent: true,
		retry: { attempts: 3, baseDelayMs: 5 },
	});
	const push = (partner: PartnerName, operation: PushSettings['operation'], ids: number[], audienceId?: string, token?: string) =>
		pushAudience(store.driver, fetchCall(() => bases.get(partner)!, standIns.get(partner)!.authHeaders(token)), items(ids), settings(partner, operation, audienceId), T);
	const range = (n: number) => Array.from({ length: n }, (_, i) => i);

	it('25,000 people make the exact calls each partner limit gives, all added', async () => {
		await people(25_000, true);
		const expected: Record<PartnerName, number[]> = {
			criteo: [25_000],
			google: [10_000, 10_000, 5_000],
			linkedin: [5_000, 5_000, 5_000, 5_000, 5_000],
			meta: [10_000, 10_000, 5_000],
			tiktok: [10_000, 10_000, 5_000],
		};
		for (const partner of Object.keys(PARTNERS) as PartnerName[]) {
			const report = await push(partner, 'add', range(25_000));
			const standIn = standIns.get(partner)!;
			expect([partner, standIn.requests.map((r) => r.count)]).toEqual([partner, expected[partner]]);
			expect(standIn.shapeErrors).toEqual([]);
			expect(report.outcomes.filter((o) => o.status === 'added')).toHaveLength(25_000);
			expect(standIn.members('aud-1').size).toBe(25_000);
		}
		// A sync reads the 25,000 members the store holds (in pages of 10,000) and removes only those left out.
		const meta = standIns.get('meta')!;
		const before = meta.requests.length;
		const sync = await push('meta', 'sync', range(25_000).slice(1_000));
		expect(meta.requests.slice(before).map((r) => [r.method, r.count])).toEqual([['DELETE', 1_000]]);
		expect(sync.removedBySync).toHaveLength(1_000);
		expect(meta.members('aud-1').size).toBe(24_000);
	}, 120_000);

	it('only people with ad consent who are not suppressed are added; the others are reported as skipped', async () => {
		await people(50);
		const report = await push('meta', 'add', [...range(50), 999]);
		const consenting = range(50).filter((i) => i % 10 !== 9 && i % 25 !== 24);
		expect(report.outcomes.filter((o) => o.status === 'added')).toHaveLength(consenting.length);
		expect(report.outcomes[9]).toMatchObject({ status: 'skipped', reason: 'no ad consent given' });
		expect(report.outcomes[24]).toMatchObject({ status: 'skipped', reason: 'the person is suppressed' });
		expect(report.outcomes[50]).toMatchObject({ status: 'skipped', reason: 'this person is not in the store' });
		expect(standIns.get('meta')!.members('aud-1').size).toBe(consenting.length);
	});

	it('sync sends only the changes, and an unchanged audience of 1,000 makes no call', async () => {
		await people(1_010);
		const consents = (i: number) => i % 10 !== 9 && i % 25 !== 24;
		const meta = standIns.get('meta')!;
		await push('meta', 'sync', range(1_000));
		const first = meta.requests.length;
		expect(meta.members('aud-1').size).toBe(range(1_000).filter(consents).length);
		const again = await push('meta', 'sync', range(1_000));
		expect([again.calls, meta.requests.length]).toEqual([0, first]);
		expect(again.outcomes.filter((o) => o.status === 'unchanged')).toHaveLength(range(1_000).filter(consents).length);
		// 100 people leave the segment and 10 arrive (9 of them consenting): one call each way.
		const next = await push('meta', 'sync', range(1_010).slice(100));
		expect(meta.requests.slice(first).map((r) => [r.method, r.count])).toEqual([
			['POST', 9],
			['DELETE', range(100).filter(consents).length],
		]);
		expect(next.removedBySync.sort()).toEqual(range(100).filter(consents).map((i) => `p-${i}`).sort());
		expect(meta.members('aud-1').has(sha256Hex('p0@example.com'))).toBe(false);
		expect(meta.members('aud-1').size).toBe(range(1_010).slice(100).filter(consents).length);
	});

	it('a sync whose items name someone the store does not know stops before any call: it would empty the audience', async () => {
		await people(5);
		await push('meta', 'sync', [0, 1, 2]);
		const calls = standIns.get('meta')!.requests.length;
		await expect(push('meta', 'sync', [0, 999])).rejects.toThrow('1 of the 2 items name nobody the store knows (this person is not in the store); a sync would remove them from the audience, so nothing was sent.');
		expect(standIns.get('meta')!.requests.length).toBe(calls);
		expect(standIns.get('meta')!.members('aud-1').size).toBe(3);
	});

	it.each(Object.keys(PARTNERS) as PartnerName[])('%s: a 429 (Retry-After) then a 5xx are retried, and each person is added once', async (partner) => {
		await people(2);
		const standIn = standIns.get(partner)!;
		standIn.failNext.push({ status: 429, headers: { 'retry-after': '0' } }, { status: 503 });
		const report = await push(partner, 'add', [0, 1]);
		expect(report.outcomes.map((o) => o.status)).toEqual(['added', 'added']);
		expect([report.calls, standIn.requests.length, standIn.members('aud-1').size]).toEqual([3, 3, 2]);
		expect(standIn.shapeErrors).toEqual([]);
	});

	it('does not hold the run when a partner asks to wait longer than a minute: the people fail with the wait, and a later push adds them', async () => {
		await people(2);
		const meta = standIns.get('meta')!;
		meta.failNext.push({ status: 429, headers: { 'retry-after': '3600' } });
		const later = await push('meta', 'add', [0, 1]);
		expect(later.outcomes.map((o) => [o.status, o.reason])).toEqual(
			Array(2).fill(['failed', expect.stringMatching(/; asked to wait 3600 s, longer than a run waits \(60 s\): run again later$/)]),
		);
		expect([later.calls, meta.members('aud-1').size]).toEqual([1, 0]);
		const again = await push('meta', 'add', [0, 1]);
		expect(again.outcomes.map((o) => o.status)).toEqual(['added', 'added']);
		expect(meta.members('aud-1').size).toBe(2);
	});

	it('retries 429 (after Retry-After) and 5xx; LinkedIn refuses one person of a batch and the others pass', async () => {
		await people(3);
		const tiktok = standIns.get('tiktok')!;
		tiktok.failNext.push({ status: 429 }, { status: 500 });
		const report = await push('tiktok', 'add', [0, 1]);
		expect(report.outcomes.map((o) => o.status)).toEqual(['added', 'added']);
		expect([report.calls, tiktok.requests.length]).toEqual([3, 3]);
		const linkedin = standIns.get('linkedin')!;
		linkedin.refuse.add(sha256Hex('p1@example.com'));
		const partial = await push('linkedin', 'add', [0, 1, 2]);
		expect(partial.outcomes.map((o) => [o.status, o.reason])).toEqual([
			['added', undefined],
			['failed', 'LinkedIn 400: Invalid idValue'],
			['added', undefined],
		]);
		expect(linkedin.members('aud-1').size).toBe(2);
	});

	it('burn: a buyer leaves every audience of the partner they were added to; a refused token stops the run', async () => {
		await people(3);
		await push('criteo', 'add', [0, 1], 'viewers');
		await push('criteo', 'add', [0], 'cart');
		await store.appendEvents([eventAt(T, { type: 'track', event: 'Order Completed', userId: 'u-0', properties: { order_id: 'o-1', revenue: 20 } })]);
		const burned = await push('criteo', 'burn', [0, 2]);
		expect(burned.outcomes).toEqual([
			expect.objectContaining({ status: 'removed', audiences: expect.arrayContaining(['viewers', 'cart']) }),
			expect.objectContaining({ status: 'unchanged', reason: 'in no audience of this partner' }),
		]);
		const criteo = standIns.get('criteo')!;
		expect([criteo.members('viewers').size, criteo.members('cart').size]).toEqual([1, 0]);
		const [{ n }] = await store.driver.all<{ n: number }>("SELECT COUNT(*) AS n FROM rt_audience_members WHERE profile_id = 'p-0'");
		expect(Number(n)).toBe(0);
		await expect(push('meta', 'add', [1], 'aud-1', 'wrong')).rejects.toThrow('Meta cannot be used: Meta 401: Invalid access token. Check the credential and its access to the audience.');
	});
});
