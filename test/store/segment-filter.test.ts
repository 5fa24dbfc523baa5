import { type PersonInput, SegmentRouter, segmentMemberPages } from '../../nodes/shared/segments/filter.ts';
import type { Segment } from '../../nodes/shared/segments/rules.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { eventAt } from '../harness/events.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T = Date.parse('2026-11-20T09:00:00.000Z');
const at = eventAt;

/** The segments of the cart-abandonment flow, plus a B2B segment and repeat buyers, in this order. */
const SEGMENTS: Segment[] = [
	{
		name: 'Cart recovery',
		groups: [
			[
				{ type: 'funnelStage', operator: 'atLeast', stage: 'cart', withinDays: 7 },
				{ type: 'noOrderSinceCart' },
				{ type: 'consent', channel: 'email', explicit: true },
				{ type: 'notSuppressed' },
				{ type: 'frequencyCap', channel: 'email', max: 3, withinHours: 24 },
			],
		],
	},
	{
		name: 'B2B leads',
		groups: [
			[
				{ type: 'attribute', attribute: 'industry', operator: 'startsWith', value: '62', path: '' },
				{ type: 'attribute', attribute: 'headcount', operator: 'gte', value: '50', path: '' },
				{ type: 'behaviour', event: 'Webinar Link Clicked', did: true, times: 1, withinDays: 14 },
				{ type: 'behaviour', event: 'Form Submitted', did: false, times: 1, withinDays: 14 },
			],
		],
	},
	{ name: 'Repeat buyers', groups: [[{ type: 'lifecycle', milestone: 'repeatBuyer', withinDays: 0 }]] },
];

describe.each(BACKENDS)('Segment Filter on realistic histories, %s', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let store: RetargetingStore;

	beforeEach(async () => {
		fixture = makeFixture();
		store = await fixture.open();
		await store.migrate();
		await store.appendEvents([
			// A buyer: browses, buys, and had bought once before.
			at(T - 60 * DAY, { type: 'identify', userId: 'buyer', traits: { email: 'buyer@example.com' }, context: { consent: { email: true } } }),
			at(T - 60 * DAY + MIN, { type: 'track', event: 'Order Completed', userId: 'buyer', properties: { order_id: 'o-old', revenue: 40, currency: 'EUR' } }),
			at(T, { type: 'track', event: 'Product Viewed', userId: 'buyer', properties: { product_id: 'p1', price: 30 } }),
			at(T + MIN, { type: 'track', event: 'Product Added', userId: 'buyer', properties: { cart_id: 'c-buyer', product_id: 'p1', price: 30, currency: 'EUR' } }),
			at(T + 2 * MIN, { type: 'track', event: 'Checkout Started', userId: 'buyer', properties: { cart_id: 'c-buyer', value: 30, currency: 'EUR' } }),
			at(T + 5 * MIN, { type: 'track', event: 'Order Completed', userId: 'buyer', properties: { cart_id: 'c-buyer', order_id: 'o-1', revenue: 30, currency: 'EUR' } }),
			// An abandoner, anonymous first, then known and opted in.
			at(T, { type: 'track', event: 'Product Viewed', anonymousId: 'anon-ab', properties: { product_id: 'p2', price: 80 } }),
			at(T + MIN, { type: 'track', event: 'Product Added', anonymousId: 'anon-ab', properties: { cart_id: 'c-ab', product_id: 'p2', price: 80, currency: 'EUR' } }),
			at(T + 2 * MIN, { type: 'identify', anonymousId: 'anon-ab', userId: 'abandoner', traits: { email: 'ab@example.com' }, context: { consent: { email: true } } }),
			at(T + 3 * MIN, { type: 'track', event: 'Checkout Started', userId: 'abandoner', properties: { cart_id: 'c-ab', value: 80, currency: 'EUR' } }),
			// An abandoner who will buy between two steps.
			at(T, { type: 'identify', userId: 'late', traits: { email: 'late@example.com' }, context: { consent: { email: true } } }),
			at(T + MIN, { type: 'track', event: 'Product Added', userId: 'late', properties: { cart_id: 'c-late', product_id: 'p3', price: 20, currency: 'EUR' } }),
			// An abandoner who opted out of email.
			at(T, { type: 'identify', userId: 'optout', traits: { email: 'optout@example.com' }, context: { consent: { email: false } } }),
			at(T + MIN, { type: 'track', event: 'Product Added', userId: 'optout', properties: { cart_id: 'c-optout', product_id: 'p4', price: 50, currency: 'EUR' } }),
			// A B2B lead: clicked the webinar link, has not filled the form.
			at(T - 3 * DAY, {
				type: 'identify',
				userId: 'lead',
				traits: { email: 'cto@acme.example', company: { name: 'Acme', industry: '6201', employee_count: 120 }, title: 'CTO' },
			}),
			at(T - 2 * DAY, { type: 'track', event: 'Webinar Link Clicked', userId: 'lead', properties: { campaign: 'q4-webinar' } }),
		]);
	});

	afterEach(async () => {
		await fixture.dispose();
	});

	const router = (changes: Partial<ConstructorParameters<typeof SegmentRouter>[1]> = {}) =>
		new SegmentRouter(store.driver, { segments: SEGMENTS, firstOnly: true, holdoutPercent: 0, campaign: 'cart-recovery', now: T + 2 * HOUR, ...changes });
	const byUser = (userId: string, cartId?: string): PersonInput => ({ person: { kind: 'userId', value: userId }, ...(cartId ? { cartId } : {}) });
	const names = ['Cart recovery', 'B2B leads', 'Repeat buyers', 'no match', 'holdout'];
	const where = async (r: SegmentRouter, inputs: PersonInput[]) => (await r.route(inputs)).map((x) => x.outputs.map((o) => names[o]).join('+'));

	it('routes each person to exactly the expected output', async () => {
		const inputs = [
			byUser('buyer', 'c-buyer'),
			byUser('abandoner', 'c-ab'),
			byUser('late', 'c-late'),
			byUser('optout', 'c-optout'),
			byUser('lead'),
			byUser('nobody'),
			{},
		];
		expect(await where(router(), inputs)).toEqual(['Repeat buyers', 'Cart recovery', 'Cart recovery', 'no match', 'B2B leads', 'no match', 'no match']);
		const routed = await router().route(inputs);
		expect(routed[5].segment.reason).toBe('this person is not in the store');
		expect(routed[6].segment.reason).toBe('the item names no person');
	});

	it('items carry the profile and the facts the match read', async () => {
		const [abandoner] = await router().route([byUser('abandoner', 'c-ab')]);
		expect(abandoner.profile).toMatchObject({ userId: 'abandoner', email: 'ab@example.com', consent: { email: true } });
		expect(abandoner.segment).toEqual({
			name: 'Cart recovery',
			matched: ['Cart recovery'],
			holdout: false,
			campaign: 'cart-recovery',
			facts: { funnelStage: 'checkout', cart: { id: 'c-ab', status: 'open' }, 'email consent': true, suppressed: false, 'email sends': 0 },
		});
	});

	it('finds people by email, anonymous id or profile id as well', async () => {
		const [viaEmail] = await router().route([{ person: { kind: 'email', value: ' AB@example.com ' }, cartId: 'c-ab' }]);
		const [viaAnon] = await router().route([{ person: { kind: 'anonymousId', value: 'anon-ab' }, cartId: 'c-ab' }]);
		const [viaId] = await router().route([{ person: { kind: 'profileId', value: viaEmail.profile!.id }, cartId: 'c-ab' }]);
		expect([viaEmail, viaAnon, viaId].map((r) => r.segment.name)).toEqual(['Cart recovery', 'Cart recovery', 'Cart recovery']);
	});

	it('as the guard after a Wait: an order between two steps takes the person out', async () => {
		expect(await where(router(), [byUser('late', 'c-late')])).toEqual(['Cart recovery']);
		await store.appendEvents([
			at(T + 3 * HOUR, { type: 'track', event: 'Order Completed', userId: 'late', properties: { order_id: 'o-late', revenue: 20, currency: 'EUR' } }),
		]);
		expect(await where(router({ now: T + 25 * HOUR }), [byUser('late', 'c-late')])).toEqual(['no match']);
	});

	it('suppression and the frequency cap, read from the store', async () => {
		await store.setSuppressed({ userId: 'abandoner' }, true, 'complaint');
		expect(await where(router(), [byUser('abandoner', 'c-ab')])).toEqual(['no match']);
		await store.setSuppressed({ userId: 'abandoner' }, false);
		const profileId = (await store.findProfile({ userId: 'abandoner' }))!.id;
		for (const [key, hoursAgo, status] of [['k1', 1, 'sent'], ['k2', 5, 'sent'], ['k3', 30, 'sent'], ['k4', 2, 'failed']] as const) {
			await store.driver.run('INSERT INTO rt_sends (idempotency_key, profile_id, channel, campaign, step, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
				key,
				profileId,
				'email',
				'cart-recovery',
				1,
				status,
				new Date(T + 2 * HOUR - hoursAgo * HOUR).toISOString(),
			]);
		}
		expect(await where(router(), [byUser('abandoner', 'c-ab')])).toEqual(['Cart recovery']);
		await store.driver.run("UPDATE rt_sends SET status = 'sent' WHERE idempotency_key = 'k4'");
		expect(await where(router(), [byUser('abandoner', 'c-ab')])).toEqual(['no match']);
	});

	it('every matching segment, and the holdout', async () => {
		const both: Segment[] = [SEGMENTS[2], { name: 'Known email', groups: [[{ type: 'attribute', attribute: 'email', operator: 'exists', value: '', path: '' }]] }];
		const every = new SegmentRouter(store.driver, { segments: both, firstOnly: false, holdoutPercent: 0, campaign: 'c', now: T + 2 * HOUR });
		expect((await every.route([byUser('buyer'), byUser('lead')])).map((r) => r.outputs)).toEqual([[0, 1], [1]]);
		const held = await router({ holdoutPercent: 100 }).route([byUser('abandoner', 'c-ab'), byUser('optout', 'c-optout')]);
		expect(held.map((r) => [names[r.outputs[0]], r.segment.holdout, r.segment.name])).toEqual([
			['holdout', true, 'Cart recovery'],
			['no match', false, null],
		]);
	});

	it('lists the members of a segment across pages, up to a maximum', async () => {
		const segmentMembers = async (...args: Parameters<typeof segmentMemberPages>) => {
			const members = [];
			for await (const page of segmentMemberPages(...args)) members.push(...page);
			return members;
		};
		const optedIn: Segment = { name: 'Opted in', groups: [[{ type: 'consent', channel: 'email', explicit: true }]] };
		const all = await segmentMembers(store.driver, optedIn, { pageSize: 2, now: T + 2 * HOUR });
		expect(all.map((m) => m.profile.userId).sort()).toEqual(['abandoner', 'buyer', 'late']);
		expect(all[0].facts).toEqual({ 'email consent': true });
		expect(await segmentMembers(store.driver, optedIn, { pageSize: 2, max: 2 })).toHaveLength(2);
		const b2b = await segmentMembers(store.driver, SEGMENTS[1], { now: T + 2 * HOUR });
		expect(b2b.map((m) => m.profile.userId)).toEqual(['lead']);
	});

	it('finds a person by a profile id that was merged into another profile since', async () => {
		await store.appendEvents([
			at(T + 10 * MIN, { type: 'track', event: 'Product Added', anonymousId: 'anon-returning', properties: { cart_id: 'c-ret', product_id: 'p5', price: 15, currency: 'EUR' } }),
		]);
		const anonymousProfile = (await store.findProfile({ anonymousId: 'anon-returning' }))!.id;
		// The returning customer logs in during the Wait: the anonymous profile merges into theirs.
		await store.appendEvents([at(T + 20 * MIN, { type: 'identify', anonymousId: 'anon-returning', userId: 'buyer' })]);
		const buyer = (await store.findProfile({ userId: 'buyer' }))!.id;
		expect(buyer).not.toBe(anonymousProfile);
		const [routed] = await router().route([{ person: { kind: 'profileId', value: anonymousProfile }, cartId: 'c-ret' }]);
		expect(routed.profile?.id).toBe(buyer);
		expect(routed.segment.name).toBe('Cart recovery');
	});

	it("reads the time zone from the person's latest browser event, past server-side events without one", async () => {
		const night: Segment[] = [{ name: 'Awake', groups: [[{ type: 'quietHours', start: 21, end: 8, fallbackTimezone: 'Europe/Paris' }]] }];
		await store.appendEvents([
			at(T, { type: 'track', event: 'Product Viewed', userId: 'lead', properties: { product_id: 'p1' }, context: { timezone: 'Asia/Tokyo', userAgent: 'Mozilla/5.0' } }),
			at(T + MIN, { type: 'track', event: 'Order Completed', userId: 'lead', properties: { order_id: 'o-lead', revenue: 5 } }),
		]);
		// 12:00 UTC is 21:00 in Tokyo (quiet) and 13:00 in Paris.
		const r = new SegmentRouter(store.driver, { segments: night, firstOnly: true, holdoutPercent: 0, campaign: 'c', now: Date.parse('2026-11-20T12:00:00.000Z') });
		const [lead] = await r.route([byUser('lead')]);
		expect(lead.segment).toMatchObject({ name: null, facts: { localTime: { timezone: 'Asia/Tokyo', hour: 21 } } });
	});
});
