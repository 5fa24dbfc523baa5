import { createLookalike, type LookalikeSpec } from '../../nodes/shared/audiences/lookalike.ts';
import { PARTNERS } from '../../nodes/shared/audiences/partners.ts';
import { pushAudience } from '../../nodes/shared/audiences/push.ts';
import { insertRows } from '../../nodes/shared/store/sql.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { AudienceStandIn } from '../harness/audience-stand-in.ts';
import { fetchCall } from '../harness/fetch-call.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

const T = Date.parse('2026-11-20T09:00:00.000Z');
type Partner = 'meta' | 'tiktok';

describe.each(BACKENDS)('Create Lookalike against the Meta and TikTok stand-ins on %s', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let store: RetargetingStore;
	const standIns = { meta: new AudienceStandIn('meta'), tiktok: new AudienceStandIn('tiktok') };
	const bases: Record<Partner, string> = { meta: '', tiktok: '' };

	beforeAll(async () => {
		bases.meta = await standIns.meta.start();
		bases.tiktok = await standIns.tiktok.start();
	});
	afterAll(async () => {
		await standIns.meta.stop();
		await standIns.tiktok.stop();
	});
	beforeEach(async () => {
		fixture = makeFixture();
		store = await fixture.open();
		await store.migrate();
		for (const s of Object.values(standIns)) {
			s.requests.length = 0;
			s.audiences.clear();
			s.lookalikes.clear();
			s.shapeErrors.length = 0;
			s.failNext.length = 0;
		}
	});
	afterEach(async () => {
		await fixture.dispose();
	});

	const http = (partner: Partner) => fetchCall(() => bases[partner], standIns[partner].authHeaders());
	const policy = { attempts: 3, baseDelayMs: 5 };

	/** n people with ad consent, added to the partner's `seed` audience by the package. */
	const seed = async (partner: Partner, n: number, audienceId = 'best') => {
		const now = new Date(T).toISOString();
		const rows = Array.from({ length: n }, (_, i) => [`p-${i}`, `u-${i}`, `p${i}@example.com`, '{}', JSON.stringify({ ads: true }), 0, now, now]);
		await insertRows(store.driver, 'INSERT INTO rt_profiles (id, user_id, email, traits, consent, suppressed, first_seen, last_seen)', rows, 'ON CONFLICT (id) DO NOTHING');
		const items = rows.map(([id]) => ({ person: { kind: 'profileId' as const, value: String(id) } }));
		await pushAudience(store.driver, http(partner), items, { partnerKey: partner, partner: PARTNERS[partner], operation: 'add', target: { audienceId, accountId: 'adv-1' }, requireExplicitConsent: true, retry: policy }, T);
		standIns[partner].requests.length = 0;
	};
	const metaSpec: LookalikeSpec = { partner: 'meta', accountId: '1234567890', seedAudienceId: 'best', name: 'Best customers FR 2-3%', percent: 3, startingPercent: 2, country: 'FR' };
	const tiktokSpec: LookalikeSpec = {
		partner: 'tiktok',
		accountId: 'adv-1',
		seedAudienceId: 'best',
		name: 'Best customers US',
		audienceSize: 'NARROW',
		locationIds: ['6252001'],
		includeSource: false,
		mobileOs: 'ALL',
		placements: ['TikTok', 'Pangle'],
	};
	const create = (spec: LookalikeSpec) => createLookalike(store.driver, http(spec.partner), spec, policy);

	it('Meta: POST /act_{id}/customaudiences with the lookalike subtype, the seed and a JSON lookalike_spec', async () => {
		await seed('meta', 120);
		const outcome = await create(metaSpec);
		expect(outcome).toEqual({
			partner: 'meta',
			status: 'created',
			lookalikeId: '2385000001',
			name: 'Best customers FR 2-3%',
			seedAudienceId: 'best',
			seedPeople: 120,
			size: '2-3 %',
			country: 'FR',
			answer: { id: '2385000001' },
			calls: 1,
		});
		expect(standIns.meta.requests).toEqual([
			{
				method: 'POST',
				url: '/act_1234567890/customaudiences',
				count: 0,
				body: { name: 'Best customers FR 2-3%', subtype: 'LOOKALIKE', origin_audience_id: 'best', lookalike_spec: '{"ratio":0.03,"starting_ratio":0.02,"country":"FR"}' },
			},
		]);
		expect(standIns.meta.shapeErrors).toEqual([]);
		// Every size Meta takes is sent as its exact ratio: 0.01 to 0.20 in steps of 0.01.
		for (let percent = 1; percent <= 20; percent++) expect((await create({ ...metaSpec, percent, startingPercent: undefined, accountId: 'act_1234567890' })).status).toBe('created');
		expect(standIns.meta.shapeErrors).toEqual([]);
	});

	it('TikTok: the lookalike create call with Access-Token, advertiser, name and lookalike_spec', async () => {
		await seed('tiktok', 100);
		const outcome = await create(tiktokSpec);
		expect(outcome).toMatchObject({ partner: 'tiktok', status: 'created', lookalikeId: '7000001', name: 'Best customers US', seedPeople: 100, size: 'NARROW', locationIds: ['6252001'], calls: 1 });
		expect(outcome.answer).toEqual({ code: 0, message: 'OK', request_id: 'req-7000001', data: { custom_audience_id: '7000001' } });
		expect(standIns.tiktok.requests).toEqual([
			{
				method: 'POST',
				url: '/open_api/v1.3/dmp/custom_audience/lookalike/create/',
				count: 0,
				body: {
					advertiser_id: 'adv-1',
					custom_audience_name: 'Best customers US',
					lookalike_spec: { source_audience_id: 'best', audience_size: 'NARROW', location_ids: ['6252001'], include_source: false, mobile_os: 'ALL', placements: ['TikTok', 'Pangle'] },
				},
			},
		]);
		expect(standIns.tiktok.shapeErrors).toEqual([]);
	});

	it.each(['meta', 'tiktok'] as Partner[])('%s: a seed below the minimum is refused with the reason, and no call is made', async (partner) => {
		await seed(partner, 99);
		const spec = partner === 'meta' ? metaSpec : tiktokSpec;
		const outcome = await create(spec);
		const name = partner === 'meta' ? 'Meta' : 'TikTok';
		expect(outcome).toMatchObject({
			status: 'notSent',
			seedPeople: 99,
			calls: 0,
			reason: `the seed audience best has 99 people the package added; ${name} needs at least 100${partner === 'meta' ? ' from one country' : ''}`,
		});
		// Another partner's audience of the same ID, or another audience, does not count.
		expect((await create({ ...spec, seedAudienceId: 'other' })).reason).toMatch(/^the seed audience other has 0 people the package added/);
		expect(standIns[partner].requests).toEqual([]);
	});

	it("reports the partner's own refusal with its words and code: Meta's duplicate (#2654), TikTok's seed too small once matched", async () => {
		await seed('meta', 100);
		expect((await create(metaSpec)).status).toBe('created');
		const duplicate = await create(metaSpec);
		expect(duplicate).toMatchObject({
			status: 'failed',
			reason: 'Meta did not create the lookalike: Meta 400: Invalid parameter: A lookalike audience with this source, country and size already exists. (code 2654, subcode 1713007)',
			answer: { error: expect.objectContaining({ code: 2654 }) },
			calls: 1,
		});
		expect(duplicate.lookalikeId).toBeUndefined();
		// The package added 100 people; TikTok matched 60 of them.
		await seed('tiktok', 100);
		const matched = standIns.tiktok.members('best');
		for (const id of [...matched].slice(60)) matched.delete(id);
		expect(await create(tiktokSpec)).toMatchObject({ status: 'failed', reason: 'TikTok did not create the lookalike: TikTok 400: The size of source audience should be no less than 100. (code 40002)', calls: 1 });
		expect([standIns.meta.lookalikes.size, standIns.tiktok.lookalikes.size]).toEqual([1, 0]);
	});

	it.each(['meta', 'tiktok'] as Partner[])('%s: a 429 is retried after Retry-After and one lookalike is made; no answer is not retried', async (partner) => {
		await seed(partner, 150);
		const spec = partner === 'meta' ? metaSpec : tiktokSpec;
		standIns[partner].failNext.push({ status: 429, headers: { 'retry-after': '0' } });
		const outcome = await create(spec);
		expect([outcome.status, outcome.calls, standIns[partner].requests.length, standIns[partner].lookalikes.size]).toEqual(['created', 2, 2, 1]);
		// Without an answer the lookalike may exist: a second try could make it twice.
		standIns[partner].dropAnswers = 1;
		const lost = await create({ ...spec, name: 'Second' });
		expect([lost.status, lost.calls]).toEqual(['failed', 1]);
		expect(lost.reason).toMatch(/did not create the lookalike: (Meta|TikTok) did not answer/);
		expect(standIns[partner].shapeErrors).toEqual([]);
	});

	it('the stand-ins catch what the partners document as wrong: type with ratio, a ratio off the steps, a long name, a missing field', async () => {
		await http('meta')({ method: 'POST', path: '/act_1/customaudiences', body: { name: 'x', subtype: 'LOOKALIKE', origin_audience_id: 'best', lookalike_spec: { type: 'similarity', ratio: 0.205, country: 'fr' } } });
		expect(standIns.meta.shapeErrors).toEqual([
			'lookalike_spec: a JSON-encoded string expected',
			'lookalike_spec.ratio: 0.01 to 0.20 in steps of 0.01 (got undefined)',
			'lookalike_spec.country: ISO 3166-1 alpha-2 expected',
		]);
		standIns.meta.shapeErrors.length = 0;
		await http('meta')({ method: 'POST', path: '/act_1/customaudiences', body: { name: 'x', subtype: 'LOOKALIKE', origin_audience_id: 'best', lookalike_spec: '{"type":"similarity","ratio":0.205,"country":"FR"}' } });
		expect(standIns.meta.shapeErrors).toEqual(['lookalike_spec.ratio: 0.01 to 0.20 in steps of 0.01 (got 0.205)', 'lookalike_spec.type: sent with ratio, Meta ignores the ratio']);
		const noToken = fetchCall(() => bases.tiktok, {});
		const answer = await noToken({ method: 'POST', path: '/open_api/v1.3/dmp/custom_audience/lookalike/create/', body: { advertiser_id: 'adv-1', custom_audience_name: 'n'.repeat(129), lookalike_spec: { source_audience_id: 'best', audience_size: 'MEDIUM', location_ids: [6252001], placements: [] } } });
		expect(answer.body).toMatchObject({ code: 40105 });
		expect(standIns.tiktok.shapeErrors).toEqual([
			'custom_audience_name: 1 to 128 characters',
			'lookalike_spec.audience_size: NARROW, BALANCED or BROAD',
			'lookalike_spec.location_ids: location ID strings',
			'lookalike_spec.include_source: a boolean',
			'lookalike_spec.mobile_os: ALL, ANDROID or IOS',
			'lookalike_spec.placements: TikTok, TopBuzz & BuzzVideo or Pangle',
		]);
	});

	it('a refused token stops the run', async () => {
		await seed('meta', 100);
		await expect(createLookalike(store.driver, fetchCall(() => bases.meta, standIns.meta.authHeaders('wrong')), metaSpec, policy)).rejects.toThrow(
			'Meta cannot be used: Meta 401: Invalid access token. Check the credential and its access to the audience.',
		);
	});
});
