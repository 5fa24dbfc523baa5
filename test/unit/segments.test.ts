import { compare, compileSegments, deviceOfUserAgent, funnelStage, holds, inQuietHours, matchSegments } from '../../nodes/shared/segments/evaluate';
import { localHour } from '../../nodes/shared/segments/time-zones';
import type { CartFact, EventFact, PersonFacts } from '../../nodes/shared/segments/facts';
import { holdoutPlace, inHoldout } from '../../nodes/shared/segments/holdout';
import { factNeeds } from '../../nodes/shared/segments/needs';
import { type Condition, type PropertyFilter, parseCriteria, parseSegments, parseWeights } from '../../nodes/shared/segments/rules';
import { segmentsFromParameter } from '../../nodes/shared/parameters/segmentParameters';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const DAY = 86_400_000;
const ago = (days: number) => NOW - days * DAY;

function person(overrides: Partial<PersonFacts> & { traits?: Record<string, unknown> } = {}): PersonFacts {
	const { traits, ...rest } = overrides;
	return {
		profile: {
			id: 'p1',
			userId: 'u1',
			email: 'ada@example.com',
			traits: traits ?? {},
			consent: {},
			suppressed: false,
			suppressedReason: null,
			firstSeen: new Date(ago(100)).toISOString(),
			lastSeen: new Date(ago(1)).toISOString(),
			eventCount: 10,
			orderCount: 0,
			revenue: 0,
		},
		context: {},
		events: [],
		orders: [],
		sends: [],
		...rest,
	};
}

const events = (...list: Array<[string, number, Record<string, unknown>?]>): EventFact[] =>
	list.map(([event, daysAgo, properties]) => ({ event, at: ago(daysAgo), ...(properties ? { properties } : {}) }));

const check = (c: Condition, p: PersonFacts, cart?: CartFact) => holds(c, p, cart, NOW);

describe('segment conditions', () => {
	describe('profile attributes', () => {
		const attr = (attribute: string, operator: string, value = '', path = '') =>
			({ type: 'attribute', attribute, operator, value, path }) as Condition;

		it('B2C: country from traits, address, else the latest event location; device from the user agent', () => {
			expect(check(attr('country', 'equals', 'fr'), person({ traits: { country: 'FR' } }))).toBe(true);
			expect(check(attr('country', 'equals', 'FR'), person({ traits: { address: { country: 'FR' } } }))).toBe(true);
			expect(check(attr('country', 'equals', 'FR'), person({ context: { location: { country: 'FR' } } }))).toBe(true);
			expect(check(attr('country', 'in', 'BE, FR ,CH'), person({ traits: { country: 'FR' } }))).toBe(true);
			expect(check(attr('country', 'notIn', 'BE, CH'), person({ traits: { country: 'FR' } }))).toBe(true);
			const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148';
			expect(check(attr('device', 'equals', 'mobile'), person({ context: { userAgent: iphone } }))).toBe(true);
			expect(check(attr('device', 'equals', 'desktop'), person({ context: { userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' } }))).toBe(true);
			expect(check(attr('device', 'equals', 'tablet'), person({ context: { device: { type: 'tablet' }, userAgent: iphone } }))).toBe(true);
			expect(deviceOfUserAgent('Mozilla/5.0 (Linux; Android 14; SM-X700) AppleWebKit/537.36 Safari/537.36')).toBe('tablet');
		});

		it('B2B: industry code, headcount as a number, region, job function, any trait by path', () => {
			const lead = person({
				traits: { company: { industry: '6201', employee_count: '250', plan: 'pro' }, address: { state: 'Bavaria' }, title: 'Head of Marketing' },
			});
			expect(check(attr('industry', 'startsWith', '62'), lead)).toBe(true);
			expect(check(attr('headcount', 'gte', '50'), lead)).toBe(true);
			expect(check(attr('headcount', 'lt', '100'), lead)).toBe(false);
			expect(check(attr('region', 'equals', 'bavaria'), lead)).toBe(true);
			expect(check(attr('jobFunction', 'contains', 'marketing'), lead)).toBe(true);
			expect(check(attr('trait', 'equals', 'PRO', 'company.plan'), lead)).toBe(true);
			expect(check(attr('trait', 'exists', '', 'company.size'), lead)).toBe(false);
			expect(check(attr('trait', 'notExists', '', 'company.size'), lead)).toBe(true);
		});

		it('a missing value satisfies only negative comparisons; lists match by element', () => {
			expect(compare(undefined, 'equals', 'FR')).toBe(false);
			expect(compare(undefined, 'notEquals', 'FR')).toBe(true);
			expect(compare(null, 'gt', '1')).toBe(false);
			expect(compare(['shoes', 'bags'], 'equals', 'Bags')).toBe(true);
			expect(compare(['shoes'], 'notContains', 'bag')).toBe(true);
			expect(compare('abc', 'gt', '1')).toBe(false);
			expect(compare(10, 'equals', '10.0')).toBe(true);
			expect(compare(true, 'equals', 'true')).toBe(true);
		});
	});

	describe('behaviour', () => {
		const viewed = (did: boolean, times: number, withinDays: number, property?: PropertyFilter) =>
			({ type: 'behaviour', event: 'Product Viewed', did, times, withinDays, ...(property ? { property } : {}) }) as Condition;
		const p = person({ events: events(['Product Viewed', 1, { category: 'Shoes' }], ['Product Viewed', 7, { category: 'Bags' }], ['Product Viewed', 40]) });

		it('counts events at least N times within D days; 0 days is all time', () => {
			expect(check(viewed(true, 2, 30), p)).toBe(true);
			expect(check(viewed(true, 3, 30), p)).toBe(false);
			expect(check(viewed(true, 3, 0), p)).toBe(true);
			expect(check(viewed(false, 1, 30), person())).toBe(true);
			expect(check(viewed(false, 3, 30), p)).toBe(true);
			expect(check(viewed(false, 2, 30), p)).toBe(false);
		});

		it('window edges: an event exactly D days old counts, one a millisecond older does not', () => {
			const edge = person({ events: [{ event: 'Product Viewed', at: ago(7) }] });
			expect(check(viewed(true, 1, 7), edge)).toBe(true);
			const older = person({ events: [{ event: 'Product Viewed', at: ago(7) - 1 }] });
			expect(check(viewed(true, 1, 7), older)).toBe(false);
		});

		it('filters by an event property', () => {
			expect(check(viewed(true, 1, 30, { path: 'category', operator: 'equals', value: 'shoes' }), p)).toBe(true);
			expect(check(viewed(true, 2, 30, { path: 'category', operator: 'in', value: 'Shoes, Bags' }), p)).toBe(true);
			expect(check(viewed(true, 1, 30, { path: 'category', operator: 'equals', value: 'Hats' }), p)).toBe(false);
		});

		it('event names are matched as the store spells them (compiled once)', () => {
			const [segment] = compileSegments([{ name: 's', groups: [[{ type: 'behaviour', event: 'product_viewed', did: true, times: 1, withinDays: 30 }]] }]);
			expect(matchSegments([segment], p, undefined, NOW, true).matched).toEqual(['s']);
		});
	});

	it('funnel stage: the furthest stage reached within the window', () => {
		const p = person({ events: events(['Product List Viewed', 2], ['Product Viewed', 2], ['Product Added', 1], ['Checkout Started', 10]) });
		expect(funnelStage(p.events, ago(5))).toBe('cart');
		expect(funnelStage(p.events, ago(30))).toBe('checkout');
		expect(funnelStage([], ago(30))).toBe('none');
		const stage = (operator: 'is' | 'atLeast' | 'below', s: string, withinDays: number) =>
			({ type: 'funnelStage', operator, stage: s, withinDays }) as Condition;
		expect(check(stage('is', 'cart', 5), p)).toBe(true);
		expect(check(stage('is', 'checkout', 30), p)).toBe(true);
		expect(check(stage('atLeast', 'product', 5), p)).toBe(true);
		expect(check(stage('below', 'checkout', 5), p)).toBe(true);
		expect(check(stage('below', 'checkout', 30), p)).toBe(false);
	});

	it('lifecycle milestones: first purchase, repeat buyer, never purchased, newsletter', () => {
		const m = (milestone: string, withinDays = 0) => ({ type: 'lifecycle', milestone, withinDays }) as Condition;
		const newBuyer = person({ orders: [{ at: ago(3), revenue: 50 }] });
		const repeat = person({ orders: [{ at: ago(200), revenue: 50 }, { at: ago(20), revenue: 30 }] });
		expect(check(m('firstPurchase'), newBuyer)).toBe(true);
		expect(check(m('firstPurchase', 7), newBuyer)).toBe(true);
		expect(check(m('firstPurchase', 7), repeat)).toBe(false);
		expect(check(m('repeatBuyer'), repeat)).toBe(true);
		expect(check(m('repeatBuyer', 30), repeat)).toBe(true);
		expect(check(m('repeatBuyer'), newBuyer)).toBe(false);
		expect(check(m('neverPurchased'), person())).toBe(true);
		expect(check(m('neverPurchased'), newBuyer)).toBe(false);
		// One order sent twice (browser and server) counts once: orders are the store's, by order id,
		// not the profile's count of Order Completed events.
		const twice = person({ orders: [{ at: ago(3), revenue: 50 }] });
		twice.profile.orderCount = 2;
		expect(check(m('repeatBuyer'), twice)).toBe(false);
		const subscriber = person();
		subscriber.profile.consent = { email: true };
		expect(check(m('newsletter'), subscriber)).toBe(true);
		expect(check(m('newsletter'), person({ traits: { newsletter: true } }))).toBe(true);
		expect(check(m('newsletter'), person())).toBe(false);
	});

	it('recency, frequency, monetary; someone who never ordered has no recency', () => {
		const rfm = (measure: string, operator: string, value: number, withinDays = 0) => ({ type: 'rfm', measure, operator, value, withinDays }) as Condition;
		const buyer = person({ orders: [{ at: ago(400), revenue: 100 }, { at: ago(45), revenue: 80 }, { at: ago(10), revenue: 20 }] });
		expect(check(rfm('recency', 'lte', 10), buyer)).toBe(true);
		expect(check(rfm('recency', 'lt', 10), buyer)).toBe(false);
		// Whole days: an order 2 days and 21 hours ago is 2 days old; the window does not apply.
		const recent = person({ orders: [{ at: NOW - 2 * DAY - 21 * 3_600_000, revenue: 10 }] });
		expect(check(rfm('recency', 'equals', 2, 1), recent)).toBe(true);
		expect(check(rfm('recency', 'gte', 90), person())).toBe(false);
		expect(check(rfm('recency', 'lte', 90), person())).toBe(false);
		expect(check(rfm('frequency', 'gte', 3), buyer)).toBe(true);
		expect(check(rfm('frequency', 'equals', 2, 365), buyer)).toBe(true);
		expect(check(rfm('monetary', 'gt', 150), buyer)).toBe(true);
		expect(check(rfm('monetary', 'equals', 100, 365), buyer)).toBe(true);
	});

	it('weighted behaviour score with negative weights', () => {
		const score = (operator: string, value: number, withinDays = 30) =>
			({
				type: 'score',
				weights: [
					{ event: 'Product Viewed', weight: 1 },
					{ event: 'Product Added', weight: 3 },
					{ event: 'Order Completed', weight: -10 },
				],
				operator,
				value,
				withinDays,
			}) as Condition;
		const browser = person({ events: events(['Product Viewed', 1], ['Product Viewed', 2], ['Product Added', 2], ['Product Viewed', 60]) });
		const facts: Record<string, unknown> = {};
		expect(holds(score('gte', 5), browser, undefined, NOW, facts)).toBe(true);
		expect(facts.score).toBe(5);
		expect(check(score('gte', 6, 0), browser)).toBe(true);
		const buyer = person({ events: events(['Product Viewed', 1], ['Product Added', 1], ['Order Completed', 1]) });
		expect(check(score('lt', 0), buyer)).toBe(true);
	});

	it('dormant for N days', () => {
		const dormant = { type: 'dormant', days: 30 } as Condition;
		const p = person();
		p.profile.lastSeen = new Date(ago(30)).toISOString();
		expect(check(dormant, p)).toBe(true);
		p.profile.lastSeen = new Date(ago(30) + 1).toISOString();
		expect(check(dormant, p)).toBe(false);
	});

	it('no order since the cart: the item cart, else the latest; converted or ordered since fails', () => {
		const c = { type: 'noOrderSinceCart' } as Condition;
		const cart = { id: 'c1', profileId: 'p1', status: 'open', openedAt: ago(2), lastActivity: ago(1) };
		expect(check(c, person(), cart)).toBe(true);
		expect(check(c, person({ orders: [{ at: ago(1), revenue: 10 }] }), cart)).toBe(false);
		expect(check(c, person({ orders: [{ at: ago(3), revenue: 10 }] }), cart)).toBe(true);
		expect(check(c, person(), { ...cart, status: 'converted' })).toBe(false);
		expect(check(c, person(), { ...cart, status: 'emptied' })).toBe(false);
		expect(check(c, person({ latestCart: cart }))).toBe(true);
		expect(check(c, person())).toBe(false);
	});

	it('consent for the channel: explicit opt-in, or not withdrawn', () => {
		const consent = (explicit: boolean) => ({ type: 'consent', channel: 'email', explicit }) as Condition;
		const unknown = person();
		const granted = person();
		granted.profile.consent = { email: true };
		const withdrawn = person();
		withdrawn.profile.consent = { email: false, ads: true };
		expect([unknown, granted, withdrawn].map((p) => check(consent(true), p))).toEqual([false, true, false]);
		expect([unknown, granted, withdrawn].map((p) => check(consent(false), p))).toEqual([true, true, false]);
	});

	it('not suppressed', () => {
		const p = person();
		expect(check({ type: 'notSuppressed' }, p)).toBe(true);
		p.profile.suppressed = true;
		expect(check({ type: 'notSuppressed' }, p)).toBe(false);
	});

	it('frequency cap: fewer than N sends on the channel within the window', () => {
		const cap = { type: 'frequencyCap', channel: 'email', max: 2, withinHours: 24 } as Condition;
		const hour = 3_600_000;
		const sends = (...hoursAgo: number[]) => hoursAgo.map((h) => ({ channel: 'email', at: NOW - h * hour }));
		expect(check(cap, person({ sends: sends(1) }))).toBe(true);
		expect(check(cap, person({ sends: sends(1, 23) }))).toBe(false);
		expect(check(cap, person({ sends: sends(1, 25) }))).toBe(true);
		expect(check(cap, person({ sends: [...sends(1), { channel: 'ads', at: NOW }] }))).toBe(true);
	});

	describe('quiet hours in the person time zone', () => {
		const quiet = { type: 'quietHours', start: 21, end: 8, fallbackTimezone: 'UTC' } as Condition;

		it('reads the hour in each zone, daylight saving included', () => {
			expect(localHour('Europe/Paris', Date.parse('2026-11-23T12:00:00Z'))).toBe(13);
			expect(localHour('Europe/Paris', Date.parse('2026-07-01T12:00:00Z'))).toBe(14);
			expect(localHour('America/New_York', Date.parse('2026-11-23T03:30:00Z'))).toBe(22);
			expect(localHour('Asia/Kolkata', Date.parse('2026-11-23T18:45:00Z'))).toBe(0);
		});

		it('wraps past midnight; equal hours mean none', () => {
			expect([20, 21, 23, 0, 7, 8].map((h) => inQuietHours(h, 21, 8))).toEqual([false, true, true, true, true, false]);
			expect([12, 13, 14].map((h) => inQuietHours(h, 12, 14))).toEqual([true, true, false]);
			expect(inQuietHours(3, 5, 5)).toBe(false);
		});

		it('at 12:00 UTC it is night in Auckland (01:00) and Los Angeles (04:00), day in Paris (13:00)', () => {
			expect(check(quiet, person({ traits: { timezone: 'Pacific/Auckland' } }))).toBe(false);
			expect(check(quiet, person({ traits: { timezone: 'Europe/Paris' } }))).toBe(true);
			expect(check(quiet, person({ context: { timezone: 'America/Los_Angeles' } }))).toBe(false);
		});

		it('an unknown or invalid zone uses the fallback', () => {
			const facts: Record<string, unknown> = {};
			expect(holds({ ...quiet, fallbackTimezone: 'Asia/Tokyo' } as Condition, person({ traits: { timezone: 'Mars/Base' } }), undefined, NOW, facts)).toBe(false);
			expect(facts.localTime).toEqual({ timezone: 'Asia/Tokyo', hour: 21 });
			expect(check(quiet, person())).toBe(true);
		});
	});
});

describe('segments', () => {
	const c = {
		fr: { type: 'attribute', attribute: 'country', operator: 'equals', value: 'FR', path: '' } as Condition,
		de: { type: 'attribute', attribute: 'country', operator: 'equals', value: 'DE', path: '' } as Condition,
		mobile: { type: 'attribute', attribute: 'device', operator: 'equals', value: 'mobile', path: '' } as Condition,
	};
	const french = person({ traits: { country: 'FR', device: 'desktop' } });

	it('groups are ORed, conditions within a group ANDed; no condition matches everyone', () => {
		const segments = [
			{ name: 'FR mobile or DE', groups: [[c.fr, c.mobile], [c.de]] },
			{ name: 'FR', groups: [[c.fr]] },
			{ name: 'Everyone', groups: [] },
		];
		expect(matchSegments(segments, french, undefined, NOW, false).matched).toEqual(['FR', 'Everyone']);
		expect(matchSegments(segments, french, undefined, NOW, true).matched).toEqual(['FR']);
		expect(matchSegments(segments, person({ traits: { country: 'DE' } }), undefined, NOW, false).matched).toEqual(['FR mobile or DE', 'Everyone']);
	});

	it('keeps what each segment read apart, so values never mix between segments', () => {
		const windowed = (name: string, withinDays: number) => ({
			name,
			groups: [[{ type: 'behaviour', event: 'Product Viewed', did: true, times: 1, withinDays } as Condition]],
		});
		const viewer = person({ events: events(['Product Viewed', 1], ['Product Viewed', 20]) });
		const match = matchSegments([windowed('week', 7), windowed('month', 30)], viewer, undefined, NOW, false);
		expect(match.factsBySegment).toEqual({ week: { 'Product Viewed count': 1 }, month: { 'Product Viewed count': 2 } });
	});

	it('reports the facts the match read', () => {
		expect(matchSegments([{ name: 'FR', groups: [[c.fr, { type: 'notSuppressed' }]] }], french, undefined, NOW, true).facts).toEqual({
			country: 'FR',
			suppressed: false,
		});
	});

	it('asks the store only for what the conditions read, over the longest window', () => {
		const needs = factNeeds(
			[
				{ name: 'a', groups: [[{ type: 'behaviour', event: 'Product Viewed', did: true, times: 1, withinDays: 7 }, c.fr]] },
				{ name: 'b', groups: [[{ type: 'frequencyCap', channel: 'email', max: 1, withinHours: 48 }, { type: 'behaviour', event: 'Product Added', did: true, times: 1, withinDays: 30 }]] },
			],
			NOW,
		);
		expect([...needs.events]).toEqual(['Product Viewed', 'Product Added']);
		expect(needs.eventsSince).toBe(ago(30));
		expect(needs).toMatchObject({ eventProperties: false, context: true, orders: false, carts: false, sendsSince: NOW - 2 * DAY });
		expect(factNeeds([{ name: 'c', groups: [[c.mobile]] }], NOW).events.size).toBe(0);
		expect(factNeeds([{ name: 'c', groups: [[{ type: 'trait' } as never]] }], NOW).context).toBe(false);
	});
});

describe('holdout', () => {
	it('is stable for a person and campaign, and independent between campaigns', () => {
		expect(holdoutPlace('p-42', 'spring')).toBe(holdoutPlace('p-42', 'spring'));
		expect(holdoutPlace('p-42', 'spring')).not.toBe(holdoutPlace('p-42', 'autumn'));
		const inSpring = Array.from({ length: 1000 }, (_, i) => inHoldout(`p-${i}`, 'spring', 10));
		const inAutumn = Array.from({ length: 1000 }, (_, i) => inHoldout(`p-${i}`, 'autumn', 10));
		expect(inSpring).toEqual(Array.from({ length: 1000 }, (_, i) => inHoldout(`p-${i}`, 'spring', 10)));
		expect(inSpring.filter((held, i) => held && inAutumn[i]).length).toBeLessThan(30);
	});

	it.each([5, 10, 25, 50])('holds out %i%% of 100,000 ids within 1 point', (percent) => {
		let held = 0;
		for (let i = 0; i < 100_000; i++) if (inHoldout(`0190c1d2-${i.toString(16).padStart(8, '0')}`, 'cart-recovery', percent)) held++;
		expect(Math.abs((held / 100_000) * 100 - percent)).toBeLessThan(1);
	});

	it('0% holds out nobody and 100% everybody', () => {
		expect(inHoldout('p', 'c', 0)).toBe(false);
		expect(inHoldout('p', 'c', 100)).toBe(true);
	});
});

describe('rules as the editor saves them', () => {
	it('turns segments and their condition groups into rules', () => {
		const parsed = segmentsFromParameter(
			{
				segment: [
					{
						name: 'Abandoners',
						conditions: {
							condition: [
								{ group: 1, conditionType: 'funnelStage', funnelOperator: 'is', stage: 'checkout', withinDays: 7 },
								{ group: 2, conditionType: 'score', weights: 'Product Viewed: 1, Order Completed: -10', numberOperator: 'gte', number: 3, withinDays: 14 },
								{ group: 1, conditionType: 'consent', channel: 'email', explicit: true },
								{ group: 1, conditionType: 'quietHours', quietStart: 22, quietEnd: 7, fallbackTimezone: '' },
							],
						},
					},
				],
			},
			'Europe/Berlin',
		);
		expect(parsed).toEqual({
			ok: true,
			segments: [
				{
					name: 'Abandoners',
					groups: [
						[
							{ type: 'funnelStage', operator: 'is', stage: 'checkout', withinDays: 7 },
							{ type: 'consent', channel: 'email', explicit: true },
							{ type: 'quietHours', start: 22, end: 7, fallbackTimezone: 'Europe/Berlin' },
						],
						[
							{
								type: 'score',
								weights: [
									{ event: 'Product Viewed', weight: 1 },
									{ event: 'Order Completed', weight: -10 },
								],
								operator: 'gte',
								value: 3,
								withinDays: 14,
							},
						],
					],
				},
			],
		});
	});

	it('names the segment, the condition as the editor numbers it, and the field by its label', () => {
		const bad = segmentsFromParameter(
			{ segment: [{ name: 'Leads', conditions: { condition: [{ conditionType: 'behaviour', event: '  ', times: 0, withinDays: 7 }] } }] },
			'UTC',
		);
		expect(bad.ok).toBe(false);
		expect(!bad.ok && bad.problems).toEqual([
			'segment 1 ("Leads"), condition 1: Event: must not be empty',
			'segment 1 ("Leads"), condition 1: At Least (Times): must be at least 1',
		]);
		const grouped = segmentsFromParameter(
			{
				segment: [
					{
						name: 'G',
						conditions: {
							condition: [
								{ group: 2, conditionType: 'dormant', days: 30 },
								{ group: 3, conditionType: 'consent', channel: 'email' },
								{ group: 3, conditionType: 'rfm', measure: 'monetary', number: 'lots' },
								{ group: 1, conditionType: 'attribute', attribute: 'trait', traitPath: ' ', operator: 'exists' },
							],
						},
					},
				],
			},
			'UTC',
		);
		expect(!grouped.ok && grouped.problems).toEqual([
			'segment 1 ("G"), condition 3: Number: must be a number',
			'segment 1 ("G"), condition 4: Trait: give the name of the trait, such as plan or company.plan',
		]);
		const weights = segmentsFromParameter({ segment: [{ name: 'S', conditions: { condition: [{ conditionType: 'score', weights: 'Product Viewed 1' }] } }] }, 'UTC');
		expect(!weights.ok && weights.problems[0]).toMatch(/Events and Weights: "Product Viewed 1" is not "Event Name: weight"/);
		const criteria = segmentsFromParameter(
			{ segment: [{ name: 'S', conditions: { condition: [{ conditionType: 'score', weights: 'Demo Requested: 20', criteria: 'company.employees >= 50: 10\nstudent: -40' }] } }] },
			'UTC',
		);
		expect(!criteria.ok && criteria.problems[0]).toBe(
			'segment 1 ("S"), condition 1: Profile Criteria and Points: "student: -40" is not "field operator value: points", such as "jobFunction contains student: -30"',
		);
		const account = segmentsFromParameter({ segment: [{ name: 'A', conditions: { condition: [{ conditionType: 'accountEngagement', people: 0 }, { conditionType: 'accountTrait', companyTrait: ' ' }] } }] }, 'UTC');
		expect(!account.ok && account.problems).toEqual(['segment 1 ("A"), condition 1: At Least (People): must be at least 1', 'segment 1 ("A"), condition 2: Company Trait: must not be empty']);
		expect(parseCriteria('emailDomain in rival.com, rival.io: -100; company.naf_code starts with 62.01: 5\nheadcount >= 50: 10')).toEqual({
			ok: true,
			criteria: [
				{ field: 'emailDomain', operator: 'in', value: 'rival.com, rival.io', weight: -100 },
				{ field: 'company.naf_code', operator: 'startsWith', value: '62.01', weight: 5 },
				{ field: 'headcount', operator: 'gte', value: '50', weight: 10 },
			],
		});
		expect(parseSegments([{ name: 'A', groups: [] }, { name: 'a', groups: [] }])).toEqual({ ok: false, problems: ['segment "a": two segments have this name'] });
		expect(parseSegments([])).toEqual({ ok: false, problems: ['add at least one segment'] });
		const zone = segmentsFromParameter({ segment: [{ name: 'Q', conditions: { condition: [{ conditionType: 'quietHours', fallbackTimezone: 'Paris' }] } }] }, 'UTC');
		expect(!zone.ok && zone.problems[0]).toBe('segment 1 ("Q"), condition 1: Time Zone When Unknown: is not an IANA time zone such as Europe/Paris');
		expect(parseWeights('Product Added = 3, Order Completed: -2.5')).toEqual({
			ok: true,
			weights: [
				{ event: 'Product Added', weight: 3 },
				{ event: 'Order Completed', weight: -2.5 },
			],
		});
	});
});

describe('what a segment reads', () => {
	it('reads the event context for a criterion on a context attribute, and not for a trait named like an object property', () => {
		const score = (field: string): Condition => ({ type: 'score', weights: [{ event: 'Demo Requested', weight: 10 }], criteria: [{ field, operator: 'equals', value: 'x', weight: 5 }], operator: 'gte', value: 10, withinDays: 0 });
		expect(factNeeds([{ name: 's', groups: [[score('device')]] }], NOW).context).toBe(true);
		for (const field of ['toString', 'constructor', 'plan']) expect(factNeeds([{ name: 's', groups: [[score(field)]] }], NOW).context).toBe(false);
	});
});
