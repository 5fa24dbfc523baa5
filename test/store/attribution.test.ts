import { DEFAULT_CHANNEL_RULES, parseChannelRules } from '../../nodes/shared/attribution/channels.ts';
import { buildReport } from '../../nodes/shared/attribution/report.ts';
import { SegmentRouter } from '../../nodes/shared/segments/filter.ts';
import { insertTouchpoints, logTouchpoints, recordConversions, reportInput, touchpointsOf } from '../../nodes/shared/store/attribution.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { eventAt } from '../harness/events.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-11-01T00:00:00.000Z');
const ev = eventAt;

describe.each(BACKENDS)('attribution in the store on %s', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let store: RetargetingStore;

	beforeEach(async () => {
		fixture = makeFixture();
		store = await fixture.open();
		await store.migrate();
	});

	afterEach(async () => {
		await fixture.dispose();
	});

	const idOf = async (userId: string) => (await store.findProfile({ userId }))!.id;

	it('tracked visits and logged emails become the path; refunds and cancellations take their revenue back', async () => {
		await store.appendEvents([
			// Ada: a Google Ads click, the cart email, then an order of 120 (20 refunded).
			ev(T0 + 1 * HOUR, { type: 'track', event: 'Product Viewed', userId: 'ada', context: { page: { url: 'https://shop.test/p/1?gclid=G1' } } }),
			ev(T0 + 30 * HOUR, { type: 'track', event: 'Order Completed', userId: 'ada', properties: { order_id: 'o-ada', revenue: 120, currency: 'EUR' } }),
			ev(T0 + 40 * HOUR, { type: 'track', event: 'Order Refunded', userId: 'ada', properties: { order_id: 'o-ada', total: 20 } }),
			// Bo: a newsletter visit, then an order of 50 that is cancelled.
			ev(T0 + 2 * HOUR, { type: 'page', userId: 'bo', context: { page: { url: 'https://shop.test/?utm_source=news&utm_medium=email&utm_campaign=nov' } } }),
			ev(T0 + 3 * HOUR, { type: 'track', event: 'Order Completed', userId: 'bo', properties: { order_id: 'o-bo', revenue: 50 } }),
			ev(T0 + 4 * HOUR, { type: 'track', event: 'Order Cancelled', userId: 'bo', properties: { order_id: 'o-bo' } }),
			// Cy: a Facebook ad click, no order.
			ev(T0 + 5 * HOUR, { type: 'track', event: 'Product Viewed', userId: 'cy', context: { page: { url: 'https://shop.test/p/2?fbclid=F1' } } }),
			// A refund of an order never seen changes nothing.
			ev(T0 + 6 * HOUR, { type: 'track', event: 'Order Refunded', userId: 'cy', properties: { order_id: 'o-unknown' } }),
		]);
		await insertTouchpoints(store.driver, [
			{ profileId: await idOf('ada'), kind: 'email_sent', channel: null, source: 'smtp', medium: 'email', campaign: 'cart-recovery', clickId: null, at: new Date(T0 + 29 * HOUR) },
		]);
		const input = await reportInput(store.driver, new Date(T0), new Date(T0 + 7 * DAY), 30 * DAY);
		expect(input.conversions.map((c) => [c.orderId, c.revenue, c.refunded]).sort()).toEqual([
			['o-ada', 120, 20],
			['o-bo', 50, 50],
		]);
		// Segments count orders as the report does: Ada's 120 minus the 20 refunded, Bo's cancelled order not at all.
		const monetary = async (userId: string) =>
			(await new SegmentRouter(store.driver, { segments: [{ name: 'm', groups: [[{ type: 'rfm', measure: 'monetary', operator: 'gte', value: 0, withinDays: 0 }, { type: 'lifecycle', milestone: 'neverPurchased', withinDays: 0 }]] }], firstOnly: true, holdoutPercent: 0, campaign: '', now: T0 + 7 * DAY }).route([{ person: { kind: 'userId', value: userId } }]))[0].segment.facts;
		expect(await monetary('ada')).toMatchObject({ monetary: 100, orders: 1 });
		expect(await monetary('bo')).toMatchObject({ monetary: 0, orders: 0 });
		// Cancelled, then refunded: still cancelled. A second full refund takes nothing more than there is.
		await store.appendEvents([
			ev(T0 + 41 * HOUR, { type: 'track', event: 'Order Refunded', userId: 'ada', properties: { order_id: 'o-ada', total: 500 } }),
			ev(T0 + 5 * HOUR, { type: 'track', event: 'Order Refunded', userId: 'bo', properties: { order_id: 'o-bo', total: 10 } }),
		]);
		expect(await monetary('ada')).toMatchObject({ monetary: 0, orders: 0 });
		const again = await reportInput(store.driver, new Date(T0), new Date(T0 + 7 * DAY), 30 * DAY);
		expect(again.conversions.map((c) => [c.orderId, c.revenue, c.refunded, c.status]).sort()).toEqual([
			['o-ada', 120, 120, 'refunded'],
			['o-bo', 50, 50, 'cancelled'],
		]);
		const ada = await touchpointsOf(store.driver, [await idOf('ada')], new Date(T0));
		expect(ada.get(await idOf('ada'))!.map((t) => [t.kind, t.clickId, t.campaign])).toEqual([
			['visit', 'gclid:G1', null],
			['email_sent', null, 'cart-recovery'],
		]);
		const report = buildReport(input, { models: ['lastTouch', 'linear', 'markov'], windows: { lookbackMs: 30 * DAY, clickWindowMs: 30 * DAY, viewWindowMs: DAY }, halfLifeMs: 7 * DAY, rules: parseChannelRules(DEFAULT_CHANNEL_RULES), topPaths: 5 });
		expect([report.conversions, report.revenue]).toEqual([1, 100]);
		expect(report.byChannel.filter((r) => r.model === 'lastTouch').map((r) => [r.channel, r.campaign, r.revenue])).toEqual([['Email', 'cart-recovery', 100]]);
		expect(report.byChannel.filter((r) => r.model === 'linear').map((r) => [r.channel, r.revenue])).toEqual([
			['Email', 50],
			['Paid Search', 50],
		]);
		expect(report.topPaths).toEqual([{ path: 'Paid Search > Email', conversions: 1, revenue: 100 }]);
	});

	it("the report reads every touchpoint of its period, page after page, ties in time included, each person's in time order", async () => {
		// 25,000 touchpoints of 50 people at only 7 distinct times, so that pages end inside runs of equal times.
		const touches = Array.from({ length: 25_000 }, (_, i) => ({ profileId: `p-${i % 50}`, kind: 'visit', channel: null, source: `s${i % 3}`, medium: null, campaign: null, clickId: `c:${i}`, at: new Date(T0 + (i % 7) * HOUR) }));
		await insertTouchpoints(store.driver, touches);
		const { touchpoints } = await reportInput(store.driver, new Date(T0 + DAY), new Date(T0 + 2 * DAY), DAY);
		const lists = [...touchpoints.values()];
		expect(lists).toHaveLength(50);
		expect(new Set(lists.flat().map((t) => t.clickId)).size).toBe(25_000);
		for (const list of lists) {
			const order = list.map((t) => [t.at, Number(t.clickId!.slice(2))]);
			expect(order).toEqual([...order].sort((a, b) => a[0] - b[0] || a[1] - b[1]));
		}
	});

	it('a touchpoint is logged once per ID, when several processes log it at once too', async () => {
		await store.appendEvents([ev(T0, { type: 'identify', userId: 'ada' })]);
		const profileId = await idOf('ada');
		const click = (id: string) => ({ id, profileId, kind: 'email_clicked', channel: null, source: 'esp', medium: 'email', campaign: 'nov', clickId: null, at: new Date(T0 + HOUR) });
		const processes = [store, await fixture.open(), await fixture.open()];
		const results = await Promise.all(processes.map(async (s) => await logTouchpoints(s.driver, [click('log:e-1'), click('log:e-2'), click('log:e-1')])));
		expect(results.map((flags) => flags.join()).sort()).toEqual(['duplicate,duplicate,duplicate', 'duplicate,duplicate,duplicate', 'logged,logged,duplicate']);
		const path = (await touchpointsOf(store.driver, [profileId], new Date(T0))).get(profileId)!;
		expect(path.map((t) => t.kind)).toEqual(['email_clicked', 'email_clicked']);
	});

	it('conversions are kept once per order ID; a second logging, in the same call or later, is reported as a duplicate', async () => {
		await store.appendEvents([ev(T0, { type: 'identify', userId: 'ada' })]);
		const profileId = await idOf('ada');
		const [first, twice] = await recordConversions(store.driver, [
			{ orderId: 'o-1', profileId, revenue: 30, currency: 'EUR', at: new Date(T0 + HOUR) },
			{ orderId: 'o-1', profileId, revenue: 30, currency: 'EUR', at: new Date(T0 + HOUR) },
		]);
		const [again] = await recordConversions(store.driver, [{ orderId: 'o-1', profileId, revenue: 99, currency: 'EUR', at: new Date(T0 + 2 * HOUR) }]);
		expect(first).toMatchObject({ revenue: 30, duplicate: false });
		// Named twice in one call: the second is the duplicate.
		expect(twice).toMatchObject({ revenue: 30, duplicate: true });
		expect(again).toMatchObject({ revenue: 30, duplicate: true, at: T0 + HOUR });
	});

	it('the Segment Filter records who it treated and who it held out; the report compares their conversion', async () => {
		const people = Array.from({ length: 200 }, (_, i) => `u${i}`);
		await store.appendEvents(people.map((userId) => ev(T0, { type: 'identify', userId, traits: { email: `${userId}@example.com` } })));
		const router = new SegmentRouter(store.driver, {
			segments: [{ name: 'All', groups: [[{ type: 'notSuppressed' }]] }],
			firstOnly: true,
			holdoutPercent: 50,
			campaign: 'winback',
			now: T0 + HOUR,
		});
		const routed = await router.route(people.map((value) => ({ person: { kind: 'userId', value } })));
		// Routing again, even with another share, draws nobody anew: the first draw stands.
		const everyoneHeld = new SegmentRouter(store.driver, { segments: [{ name: 'All', groups: [[{ type: 'notSuppressed' }]] }], firstOnly: true, holdoutPercent: 100, campaign: 'winback', now: T0 + HOUR });
		const again = await everyoneHeld.route(people.map((value) => ({ person: { kind: 'userId', value } })));
		expect(again.map((r) => r.segment.holdout)).toEqual(routed.map((r) => r.segment.holdout));
		const held = routed.filter((r) => r.segment.holdout).map((r) => r.profile!.id);
		const treated = routed.filter((r) => !r.segment.holdout).map((r) => r.profile!.id);
		// Every treated person buys once (10), one in ten held out does.
		await recordConversions(store.driver, [
			...treated.map((profileId, i) => ({ orderId: `t-${i}`, profileId, revenue: 10, currency: 'EUR', at: new Date(T0 + 2 * HOUR) })),
			...held.filter((_, i) => i % 10 === 0).map((profileId, i) => ({ orderId: `h-${i}`, profileId, revenue: 10, currency: 'EUR', at: new Date(T0 + 2 * HOUR) })),
		]);
		const input = await reportInput(store.driver, new Date(T0), new Date(T0 + DAY), 30 * DAY);
		expect(input.arms?.map((a) => [a.campaign, a.arm, a.members]).sort()).toEqual([
			['winback', 'holdout', held.length],
			['winback', 'treated', treated.length],
		]);
		const [lift] = buildReport(input, { models: ['lastTouch'], windows: { lookbackMs: 30 * DAY, clickWindowMs: 30 * DAY, viewWindowMs: DAY }, halfLifeMs: 7 * DAY, rules: [], topPaths: 5 }).lift;
		const heldBuyers = Math.ceil(held.length / 10);
		expect(lift).toMatchObject({ campaign: 'winback', treated: treated.length, treatedConversions: treated.length, holdout: held.length, holdoutConversions: heldBuyers, treatedRate: 1 });
		expect(lift.holdoutRate).toBeCloseTo(heldBuyers / held.length, 12);
		expect(lift.incrementalRevenue).toBeCloseTo((10 - (10 * heldBuyers) / held.length) * treated.length, 9);
		// The draw of a person merged into another stays one row: the kept profile's.
		await store.mergeProfiles({ profileId: treated[0] }, { profileId: held[0] });
		const [{ n }] = await store.driver.all<{ n: number }>('SELECT COUNT(*) AS n FROM rt_campaign_members WHERE profile_id = ?', [treated[0]]);
		expect(Number(n)).toBe(1);
	});
});
