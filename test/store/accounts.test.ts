import { getAccount } from '../../nodes/RetargetingProfile/actions/account/get.operation.ts';
import { getPerson } from '../../nodes/RetargetingProfile/actions/person/get.operation.ts';
import { segmentsFromParameter } from '../../nodes/shared/parameters/segmentParameters.ts';
import { SegmentRouter } from '../../nodes/shared/segments/filter.ts';
import type { Segment } from '../../nodes/shared/segments/rules.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { eventAt as at } from '../harness/events.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T = Date.parse('2026-11-20T09:00:00.000Z');

const ACME = { name: 'Acme SAS', industry: 'Software', naf_code: '62.01Z', employees: 120, region: 'Île-de-France', plan: 'pro' };
const RIVAL = { name: 'Rival Analytics', industry: 'Software', naf_code: '62.02A', employees: 40, region: 'Auvergne-Rhône-Alpes' };

const WEIGHTS = [
	{ event: 'Webinar Registered', weight: 10 },
	{ event: 'Pricing Viewed', weight: 5 },
	{ event: 'Demo Requested', weight: 20 },
];

/** One segment per account condition, each alone, so a test reads each condition's answer and facts. */
const segment = (name: string, condition: Segment['groups'][number][number]): Segment => ({ name, groups: [[condition]] });
const ENGAGED_2 = segment('2 engaged', { type: 'accountEngagement', event: '', people: 2, withinDays: 14 });
const ENGAGED_3 = segment('3 engaged', { type: 'accountEngagement', event: '', people: 3, withinDays: 14 });
const SCORE = segment('score', { type: 'accountScore', weights: WEIGHTS, operator: 'gte', value: 15, withinDays: 14 });
const NAF = segment('naf', { type: 'accountTrait', path: 'naf_code', operator: 'startsWith', value: '62.01' });

describe.each(BACKENDS)('Accounts (group calls) and account conditions, %s', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let store: RetargetingStore;

	beforeEach(async () => {
		fixture = makeFixture();
		store = await fixture.open();
		await store.migrate();
		const person = (userId: string, email: string, title: string) =>
			at(T - 10 * DAY, { type: 'identify', userId, traits: { email, first_name: userId, title } });
		await store.appendEvents([
			person('ada', 'ada@acme.example', 'CTO'),
			person('bob', 'bob@acme.example', 'Developer'),
			person('cyd', 'cyd@acme.example', 'Head of Data'),
			person('dee', 'dee@acme.example', 'Buyer'),
			...['ada', 'bob', 'cyd', 'dee'].map((userId) => at(T - 9 * DAY, { type: 'group', userId, groupId: 'acme', traits: userId === 'ada' ? ACME : { name: 'Acme SAS' } })),
			at(T - 3 * DAY, { type: 'track', event: 'Webinar Registered', userId: 'ada' }),
			at(T - 2 * DAY, { type: 'track', event: 'Pricing Viewed', userId: 'ada' }),
			at(T - 2 * DAY, { type: 'page', name: 'Careers', userId: 'bob' }),
			at(T - 2 * DAY, { type: 'track', event: 'Demo Requested', userId: 'cyd' }),
			at(T - 2 * DAY, { type: 'track', event: 'Pricing Viewed', userId: 'dee' }),
			// Old news: outside every window.
			at(T - 30 * DAY, { type: 'track', event: 'Demo Requested', userId: 'bob' }),
		]);
	});

	afterEach(async () => await fixture.dispose());

	const route = async (userId: string, segments: Segment[]) =>
		(await new SegmentRouter(store.driver, { segments, firstOnly: false, holdoutPercent: 0, campaign: '', now: T }).route([{ person: { kind: 'userId', value: userId } }]))[0];

	it('stores the company of a group call with its traits, and its people', async () => {
		const account = await getAccount(store, 'acme', { formerToo: false, limit: 10 });
		expect(account).toMatchObject({ found: true, id: 'acme', traits: ACME });
		expect((account.people as Array<{ userId: string; leftAt: null }>).map((p) => p.userId).sort()).toEqual(['ada', 'bob', 'cyd', 'dee']);
		expect(await getAccount(store, 'nobody', { formerToo: false, limit: 10 })).toEqual({ found: false, groupId: 'nobody' });
		// Company traits stay the company's: the person's own traits are untouched.
		expect(await getPerson(store, { by: 'userId', value: 'ada' })).toMatchObject({
			traits: { email: 'ada@acme.example', first_name: 'ada', title: 'CTO' },
			company: { id: 'acme', traits: ACME, joinedAt: new Date(T - 9 * DAY).toISOString() },
			formerCompanies: [],
		});
	});

	it('counts the engaged people of the company and sums their scores, with the figures in the facts', async () => {
		const ada = await route('ada', [ENGAGED_2, ENGAGED_3, SCORE, NAF]);
		// Ada, Bob (a page view), Cyd and Dee did something within 14 days.
		expect(ada.segment.matched).toEqual(['2 engaged', '3 engaged', 'score', 'naf']);
		expect(ada.factsBySegment!['3 engaged']).toEqual({ company: { id: 'acme', name: 'Acme SAS' }, 'company engaged people': 4 });
		expect(ada.factsBySegment!.score).toEqual({ company: { id: 'acme', name: 'Acme SAS' }, 'company score': 10 + 5 + 20 + 5 });
		expect(ada.factsBySegment!.naf).toEqual({ company: { id: 'acme', name: 'Acme SAS' }, 'company.naf_code': '62.01Z' });
		const demo = segment('demo', { type: 'accountEngagement', event: 'Demo Requested', people: 1, withinDays: 14 });
		expect((await route('bob', [demo])).segment.facts).toEqual({ company: { id: 'acme', name: 'Acme SAS' }, 'company people who did Demo Requested': 1 });
	});

	it('moves a person who names another company: they leave the first, which no longer counts them', async () => {
		await store.appendEvents([at(T - DAY, { type: 'group', userId: 'cyd', groupId: 'rival', traits: RIVAL })]);
		const cyd = await route('cyd', [SCORE, NAF]);
		// Her demo request now counts for her new company, which is not in NAF 62.01.
		expect(cyd.segment.matched).toEqual(['score']);
		expect(cyd.segment.facts).toEqual({ company: { id: 'rival', name: 'Rival Analytics' }, 'company score': 20 });
		expect(cyd.factsBySegment).toEqual({ score: { company: { id: 'rival', name: 'Rival Analytics' }, 'company score': 20 } });
		const ada = await route('ada', [ENGAGED_3, SCORE]);
		expect(ada.factsBySegment).toEqual({
			'3 engaged': { company: { id: 'acme', name: 'Acme SAS' }, 'company engaged people': 3 },
			score: { company: { id: 'acme', name: 'Acme SAS' }, 'company score': 20 },
		});
		expect(await getPerson(store, { by: 'userId', value: 'cyd' })).toMatchObject({
			company: { id: 'rival' },
			formerCompanies: [{ id: 'acme', name: 'Acme SAS', joinedAt: new Date(T - 9 * DAY).toISOString(), leftAt: new Date(T - DAY).toISOString() }],
		});
		const current = await getAccount(store, 'acme', { formerToo: false, limit: 10 });
		expect((current.people as Array<{ userId: string }>).map((p) => p.userId).sort()).toEqual(['ada', 'bob', 'dee']);
		const all = await getAccount(store, 'acme', { formerToo: true, limit: 10 });
		expect((all.people as Array<{ userId: string; leftAt: string | null }>).at(-1)).toMatchObject({ userId: 'cyd', leftAt: new Date(T - DAY).toISOString() });
		// The same company again changes nothing.
		await store.appendEvents([at(T - HOUR, { type: 'group', userId: 'cyd', groupId: 'rival', traits: {} })]);
		expect((await store.membershipsOf((await store.findProfile({ userId: 'cyd' }))!.id)).length).toBe(2);
	});

	it('erasure removes the person from the company, which stays', async () => {
		const dee = await store.findProfile({ userId: 'dee' });
		const deleted = await store.eraseProfile({ userId: 'dee' });
		expect(deleted).toMatchObject({ rt_account_members: 1, rt_profiles: 1 });
		expect(await store.findAccount('acme')).toMatchObject({ id: 'acme', traits: ACME });
		const acme = await getAccount(store, 'acme', { formerToo: true, limit: 10 });
		expect((acme.people as Array<{ id: string }>).map((p) => p.id)).not.toContain(dee!.id);
		const ada = await route('ada', [ENGAGED_3, SCORE]);
		expect(ada.factsBySegment!['3 engaged']).toEqual({ company: { id: 'acme', name: 'Acme SAS' }, 'company engaged people': 3 });
		expect(ada.factsBySegment!.score).toEqual({ company: { id: 'acme', name: 'Acme SAS' }, 'company score': 35 });
		const [left] = await store.driver.all<{ n: number }>('SELECT COUNT(*) AS n FROM rt_account_members WHERE profile_id = ?', [dee!.id]);
		expect(Number(left.n)).toBe(0);
	});

	it('a merge carries the memberships: the later company stands, the earlier one is left', async () => {
		await store.appendEvents([
			at(T - 5 * DAY, { type: 'group', anonymousId: 'anon-eve', groupId: 'beta', traits: { name: 'Beta' } }),
			at(T - 4 * DAY, { type: 'identify', userId: 'eve', traits: { email: 'eve@gamma.example' } }),
			at(T - 3 * DAY, { type: 'group', userId: 'eve', groupId: 'gamma', traits: { name: 'Gamma' } }),
		]);
		await store.mergeProfiles({ userId: 'eve' }, { anonymousId: 'anon-eve' });
		expect(await getPerson(store, { by: 'userId', value: 'eve' })).toMatchObject({
			company: { id: 'gamma' },
			formerCompanies: [{ id: 'beta', leftAt: new Date(T - 3 * DAY).toISOString() }],
		});
		// A visitor's company goes with them when they identify.
		await store.appendEvents([
			at(T - 2 * DAY, { type: 'group', anonymousId: 'anon-fay', groupId: 'acme', traits: {} }),
			at(T - DAY, { type: 'identify', anonymousId: 'anon-fay', userId: 'fay', traits: { email: 'fay@acme.example' } }),
		]);
		expect(await getPerson(store, { by: 'userId', value: 'fay' })).toMatchObject({ company: { id: 'acme' }, formerCompanies: [] });
	});

	it('scores people on events and profile criteria, company traits included, and says what scored', async () => {
		await store.appendEvents([
			at(T - 10 * DAY, { type: 'identify', userId: 'spy', traits: { email: 'spy@rival.example', title: 'Analyst' } }),
			at(T - 9 * DAY, { type: 'group', userId: 'spy', groupId: 'rival', traits: RIVAL }),
			at(T - 2 * DAY, { type: 'track', event: 'Demo Requested', userId: 'spy' }),
			at(T - DAY, { type: 'track', event: 'Pricing Viewed', userId: 'spy' }),
		]);
		const parsed = segmentsFromParameter(
			{
				segment: [
					{
						name: 'Hot lead',
						conditions: {
							condition: [
								{
									conditionType: 'score',
									weights: 'Webinar Registered: 10, Pricing Viewed: 5, Demo Requested: 20',
									criteria: 'emailDomain in rival.example, rival.io: -100\ncompany.employees >= 50: 10\njobFunction contains student: -40',
									numberOperator: 'gte',
									number: 20,
									withinDays: 14,
								},
							],
						},
					},
				],
			},
			'UTC',
		);
		if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
		const ada = await route('ada', parsed.segments);
		expect(ada.segment).toMatchObject({
			name: 'Hot lead',
			facts: {
				score: 25,
				scoredBy: [
					{ reason: 'Webinar Registered', times: 1, points: 10 },
					{ reason: 'Pricing Viewed', times: 1, points: 5 },
					{ reason: 'company.employees >= 50', points: 10 },
				],
			},
		});
		const spy = await route('spy', parsed.segments);
		expect(spy.segment.matched).toEqual([]);
		expect(spy.segment.facts).toMatchObject({ score: -75, scoredBy: [{ reason: 'Pricing Viewed' }, { reason: 'Demo Requested' }, { reason: 'emailDomain in rival.example, rival.io', points: -100 }] });
	});
});
