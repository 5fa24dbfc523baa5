import { getPerson } from '../../nodes/RetargetingProfile/actions/person/get.operation.ts';
import { offThreadResult } from '../../nodes/shared/offthread/run.ts';
import { fitBgNbd } from '../../nodes/shared/predictive/bg-nbd.ts';
import { DEFAULT_VALUE_SETTINGS } from '../../nodes/shared/predictive/figures.ts';
import { fitGammaGamma } from '../../nodes/shared/predictive/gamma-gamma.ts';
import type { FitReport, PurchaseHistory, SpendHistory } from '../../nodes/shared/predictive/model.ts';
import { SegmentRouter } from '../../nodes/shared/segments/filter.ts';
import { latestFit } from '../../nodes/shared/store/predictive.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { type SimulatedOrder, simulateOrders } from '../harness/customers.ts';
import { eventAt } from '../harness/events.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-20T09:00:00.000Z');

/** The histories as lifetimes reads transactions (a purchase is a UTC day with orders), worked out here from the orders themselves. */
function historiesOf(all: Map<string, SimulatedOrder[]>): { purchases: PurchaseHistory[]; spends: SpendHistory[] } {
	const purchases: PurchaseHistory[] = [];
	const spends: SpendHistory[] = [];
	const today = Math.floor(NOW / DAY);
	for (const orders of all.values()) {
		const byDay = new Map<number, number>();
		for (const o of orders) byDay.set(Math.floor(o.at / DAY), (byDay.get(Math.floor(o.at / DAY)) ?? 0) + o.revenue);
		const days = [...byDay.keys()];
		if (days.length === 0) continue;
		const x = days.length - 1;
		purchases.push({ x, tx: days[x] - days[0], T: today - days[0] });
		spends.push({ x, mx: x ? days.slice(1).reduce((sum, d) => sum + byDay.get(d)!, 0) / x : 0 });
	}
	return { purchases, spends };
}

/**
 * The same maximum of the likelihood, and the same parameters to 1e-5: the store reads the
 * customers in another order than the test lists them, so the sums round differently in the last
 * digits and the search stops a hair away (parameters about 1e-7 apart here).
 */
function expectSameFit<P extends object>(actual: FitReport<P>, expected: FitReport<P>): void {
	expect(actual.customers).toBe(expected.customers);
	expect(Math.abs(actual.logLikelihood - expected.logLikelihood)).toBeLessThan(1e-9 * Math.abs(expected.logLikelihood));
	const got = actual.parameters as Record<string, number>;
	const within = Object.entries(expected.parameters as Record<string, number>).map(([key, value]) => [key, Math.abs(got[key] - value) < 1e-5 * value]);
	expect(Object.fromEntries(within)).toEqual(Object.fromEntries(within.map(([key]) => [key, true])));
}

describe.each(BACKENDS)('predictive models fitted on the store, %s', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let store: RetargetingStore;
	const orders = simulateOrders(300, NOW);
	const fit = () => offThreadResult(store.driver, 'fitPredictiveModels', { settings: DEFAULT_VALUE_SETTINGS, now: new Date(NOW) });

	beforeEach(async () => {
		fixture = makeFixture();
		store = await fixture.open();
		await store.migrate();
		// Through the tracking path: each order an Order Completed event at its date, and a visitor who never ordered.
		const events = [...orders].flatMap(([userId, list]) =>
			list.map((o) => eventAt(o.at, { type: 'track', event: 'Order Completed', userId, properties: { order_id: o.id, revenue: o.revenue, currency: 'EUR' } })),
		);
		events.push(eventAt(NOW - DAY, { type: 'track', event: 'Product Viewed', userId: 'browser', properties: { product_id: 'p1' } }));
		await store.appendEvents(events);
	});

	afterEach(async () => await fixture.dispose());

	it('gives the fit the same orders give the models directly, and keeps it with its date', async () => {
		const { purchases, spends } = historiesOf(orders);
		const model = await fit();
		expect(model.customers).toBe(300);
		expect(model.repeatCustomers).toBe(purchases.filter((h) => h.x > 0).length);
		expectSameFit(model.bgNbd, fitBgNbd(purchases));
		expectSameFit(model.gammaGamma, fitGammaGamma(spends));
		expect(await latestFit(store.driver)).toEqual(model);
		expect(model.fittedAt).toBe(new Date(NOW).toISOString());
		expect(model.valueQuantiles).toHaveLength(1001);
	});

	it('takes refunds and cancellations out as segments do: a full refund or a cancellation removes the order, a partial refund its money', async () => {
		const before = await fit();
		const changed = new Map([...orders].map(([id, list]) => [id, list.map((o) => ({ ...o }))]));
		const repeaters = [...changed.entries()].filter(([, list]) => list.length >= 3);
		const [[fullId, full], [cancelId, cancelled], [partialId, partial]] = repeaters;
		const refunds = [
			eventAt(NOW - DAY, { type: 'track', event: 'Order Refunded', userId: fullId, properties: { order_id: full[1].id } }),
			eventAt(NOW - DAY, { type: 'track', event: 'Order Cancelled', userId: cancelId, properties: { order_id: cancelled[2].id } }),
			eventAt(NOW - DAY, { type: 'track', event: 'Order Refunded', userId: partialId, properties: { order_id: partial[1].id, total: 10 } }),
		];
		full.splice(1, 1);
		cancelled.splice(2, 1);
		partial[1].revenue -= 10;
		await store.appendEvents(refunds);

		const after = await fit();
		const { purchases, spends } = historiesOf(changed);
		expectSameFit(after.bgNbd, fitBgNbd(purchases));
		expectSameFit(after.gammaGamma, fitGammaGamma(spends));
		expect(after.bgNbd.logLikelihood).not.toBeCloseTo(before.bgNbd.logLikelihood, 3);
		expect(after.gammaGamma.parameters.gamma).not.toBeCloseTo(before.gammaGamma.parameters.gamma, 3);
		expect((await latestFit(store.driver))?.bgNbd).toEqual(after.bgNbd);
	});

	it('refuses too little data with a message naming what is missing, and keeps the previous fit', async () => {
		const empty = await makeFixture().open();
		try {
			await empty.migrate();
			const fitEmpty = offThreadResult(empty.driver, 'fitPredictiveModels', { settings: DEFAULT_VALUE_SETTINGS, now: new Date(NOW) });
			await expect(fitEmpty).rejects.toThrow('The store has no orders to learn from yet: the models read the Order Completed events, less the cancelled and fully refunded orders.');
			await empty.appendEvents([eventAt(NOW - 30 * DAY, { type: 'track', event: 'Order Completed', userId: 'only', properties: { order_id: 'o-1', revenue: 10 } })]);
			await expect(offThreadResult(empty.driver, 'fitPredictiveModels', { settings: DEFAULT_VALUE_SETTINGS, now: new Date(NOW) })).rejects.toThrow(/needs at least 2 customers .* the store has 1/);
			expect(await latestFit(empty.driver)).toBeUndefined();
		} finally {
			await empty.close();
		}
		const kept = await fit();
		// Every order cancelled: nothing left to learn from, and the fit before stays in use.
		await store.appendEvents([...orders].flatMap(([userId, list]) => list.map((o) => eventAt(NOW - DAY, { type: 'track', event: 'Order Cancelled', userId, properties: { order_id: o.id } }))));
		await expect(fit()).rejects.toThrow('The store has no orders to learn from yet');
		expect(await latestFit(store.driver)).toEqual(kept);
	});

	it('puts the figures of the latest fit in segment.facts and on the profile; before any fit, a predictive segment says how to fix it', async () => {
		const segment = { name: 'Lapsing', groups: [[{ type: 'probabilityActive' as const, operator: 'lt' as const, percent: 50 }]] };
		const router = new SegmentRouter(store.driver, { segments: [segment], firstOnly: true, holdoutPercent: 0, campaign: '', now: NOW });
		const ids = [...orders.keys()].map((value) => ({ person: { kind: 'userId' as const, value } }));
		await expect(router.route(ids)).rejects.toThrow(/not been fitted yet: add a Retargeting Profile node with Prediction → Fit Models/);
		expect(await getPerson(store, { by: 'userId', value: 'c-0' })).toMatchObject({ found: true, prediction: null });

		await fit();
		const routed = await router.route([...ids, { person: { kind: 'userId', value: 'browser' } }]);
		const lapsing = routed.filter((r) => r.segment.matched.length > 0);
		expect(lapsing.length).toBeGreaterThan(0);
		expect(lapsing.length).toBeLessThan(orders.size);
		for (const r of routed.slice(0, -1)) {
			const facts = r.segment.facts.prediction as { probabilityActivePercent: number; fittedAt: string };
			expect(facts.fittedAt).toBe(new Date(NOW).toISOString());
			expect(r.segment.matched.length > 0).toBe(facts.probabilityActivePercent < 50);
		}
		// Never ordered: the models know nothing of them, and they are in no predictive condition.
		expect(routed.at(-1)!.segment).toMatchObject({ matched: [], facts: { prediction: null } });

		const person = await getPerson(store, { by: 'userId', value: 'c-0' });
		expect(person.prediction).toMatchObject({ purchaseDays: new Set(orders.get('c-0')!.map((o) => Math.floor(o.at / DAY))).size, fittedAt: new Date(NOW).toISOString() });
		expect(await getPerson(store, { by: 'userId', value: 'browser' })).toMatchObject({ prediction: null });
	});
});
