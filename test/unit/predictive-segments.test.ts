import { fitOutput } from '../../nodes/RetargetingProfile/actions/prediction/fit.operation';
import { segmentsFromParameter } from '../../nodes/shared/parameters/segmentParameters';
import { expectedPurchases, probabilityAlive } from '../../nodes/shared/predictive/bg-nbd';
import { CustomerPrediction, DEFAULT_VALUE_SETTINGS, historiesOf, type PredictiveModel, readingOf } from '../../nodes/shared/predictive/figures';
import { holds, matchSegments } from '../../nodes/shared/segments/evaluate';
import type { PersonFacts } from '../../nodes/shared/segments/facts';
import { factNeeds } from '../../nodes/shared/segments/needs';
import { type Condition, parseCondition } from '../../nodes/shared/segments/rules';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const DAY = 86_400_000;
const ago = (days: number) => NOW - days * DAY;

/** The paper's CDNOW estimates (weeks) in days, and spend from Fader and Hardie's note 025; predicted values 0 to 1000 evenly. */
const MODEL: PredictiveModel = {
	fittedAt: new Date(ago(1)).toISOString(),
	bgNbd: { parameters: { r: 0.243, alpha: 4.414 * 7, a: 0.793, b: 2.426 }, logLikelihood: -9582.4, customers: 2357, iterations: 100, converged: true },
	gammaGamma: { parameters: { p: 6.25, q: 3.74, gamma: 15.44 }, logLikelihood: -4000, customers: 946, iterations: 100, converged: true },
	settings: DEFAULT_VALUE_SETTINGS,
	customers: 2357,
	repeatCustomers: 1411,
	likelyActiveShare: 0.6,
	valueQuantiles: Array.from({ length: 1001 }, (_, k) => k),
};

function person(orders: Array<[daysAgo: number, revenue: number]>): PersonFacts {
	return {
		profile: {
			id: 'p1',
			userId: 'u1',
			email: 'ada@example.com',
			traits: {},
			consent: {},
			suppressed: false,
			suppressedReason: null,
			firstSeen: new Date(ago(400)).toISOString(),
			lastSeen: new Date(ago(1)).toISOString(),
			eventCount: 10,
			orderCount: orders.length,
			revenue: 0,
		},
		context: {},
		events: [],
		orders: orders.map(([daysAgo, revenue]) => ({ at: ago(daysAgo), revenue })),
		sends: [],
		model: MODEL,
	};
}

/** Three purchases, 400, 300 and 250 days ago: lapsed for someone who bought every 75 days. */
const lapsed = () => person([[400, 40], [300, 60], [250, 80]]);
const lapsedHistory = { x: 2, tx: 150, T: 400 };

describe('predictive segment conditions', () => {
	it('reads a history in whole days, a day with orders being one purchase worth their total; later orders are not yet history', () => {
		const at = (day: number, hour: number) => Date.parse('2026-01-01T00:00:00.000Z') + day * DAY + hour * 3_600_000;
		const orders = [
			{ at: at(0, 9), revenue: 30 },
			{ at: at(10, 8), revenue: 20 },
			{ at: at(10, 20), revenue: 25 },
			{ at: at(30, 1), revenue: 15 },
			{ at: at(50, 1), revenue: 99 },
		];
		expect(historiesOf(orders, at(40, 12))).toEqual({ purchase: { x: 2, tx: 30, T: 40 }, spend: { x: 2, mx: 30 }, lastOrderAt: at(30, 1) });
		expect(historiesOf([{ at: at(0, 9), revenue: 30 }], at(0, 23))).toEqual({ purchase: { x: 0, tx: 0, T: 0 }, spend: { x: 0, mx: 0 }, lastOrderAt: at(0, 9) });
		expect(historiesOf(orders, at(0, 8))).toBeUndefined();
	});

	it('compares the probability of being active, in %, as the model gives it, and shows it in the facts with the next order date', () => {
		const alive = probabilityAlive(MODEL.bgNbd.parameters, lapsedHistory);
		expect(alive).toBeGreaterThan(0.05);
		expect(alive).toBeLessThan(0.95);
		const facts: Record<string, unknown> = {};
		expect(holds({ type: 'probabilityActive', operator: 'lt', percent: 100 * alive + 0.01 }, lapsed(), undefined, NOW, facts)).toBe(true);
		expect(holds({ type: 'probabilityActive', operator: 'lt', percent: 100 * alive - 0.01 }, lapsed(), undefined, NOW)).toBe(false);
		// The cheap figures besides; the predicted value only where a condition reads it.
		expect(facts.prediction).toEqual({
			probabilityActivePercent: Math.round(1000 * alive) / 10,
			expectedNextOrder: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
			purchaseDays: 3,
			fittedAt: MODEL.fittedAt,
		});
	});

	it('counts the orders expected in the next N days (eq. 10) and names the window in the facts', () => {
		const expected = expectedPurchases(MODEL.bgNbd.parameters, 90, lapsedHistory);
		const facts: Record<string, unknown> = {};
		expect(holds({ type: 'expectedOrders', days: 90, operator: 'gte', value: expected - 1e-9 }, lapsed(), undefined, NOW, facts)).toBe(true);
		expect(holds({ type: 'expectedOrders', days: 90, operator: 'gt', value: expected + 1e-9 }, lapsed(), undefined, NOW)).toBe(false);
		expect(facts.prediction).toMatchObject({ expectedOrdersIn90Days: Math.round(expected * 100) / 100 });
	});

	it('ranks the predicted value against the fit: top N % holds exactly when the rank is N or less', () => {
		const prediction = CustomerPrediction.of(MODEL, lapsed().orders, NOW)!;
		const value = prediction.predictedValue();
		// Quantiles 0..1000 evenly: a value v is at rank v/1000, in the top 100 − v/10 %.
		expect(prediction.valueTopPercent()).toBeCloseTo(100 - value / 10, 9);
		const top = (percent: number) => holds({ type: 'predictedValue', operator: 'topPercent', value: percent }, lapsed(), undefined, NOW);
		expect(top(100 - value / 10 + 0.01)).toBe(true);
		expect(top(100 - value / 10 - 0.01)).toBe(false);
		const facts: Record<string, unknown> = {};
		expect(holds({ type: 'predictedValue', operator: 'gt', value: value - 0.01 }, lapsed(), undefined, NOW, facts)).toBe(true);
		expect(facts.prediction).toMatchObject({ predictedValue: Math.round(value * 100) / 100, predictedValueTopPercent: Math.round(10 * (100 - value / 10)) / 10 });
		expect(holds({ type: 'predictedValue', operator: 'lt', value: value - 0.01 }, lapsed(), undefined, NOW)).toBe(false);
		const flat = { ...MODEL, valueQuantiles: Array.from({ length: 1001 }, () => 50) };
		expect(CustomerPrediction.of(flat, lapsed().orders, NOW)!.valueTopPercent()).toBe(value >= 50 ? 0 : 100);
	});

	it("passes the expected next order date when the customer's own pace said they would have ordered again", () => {
		// At the last order: rate (r + x) / (α + tx) a day, so the next was due (α + tx) / (r + x) days after it.
		const due = ago(250) + ((MODEL.bgNbd.parameters.alpha + 150) / (MODEL.bgNbd.parameters.r + 2)) * DAY;
		expect(CustomerPrediction.of(MODEL, lapsed().orders, NOW)!.expectedNextOrderAt()).toBeCloseTo(due, -1);
		const overdueDays = (NOW - due) / DAY;
		expect(holds({ type: 'nextOrderPassed', days: 0 }, lapsed(), undefined, NOW)).toBe(true);
		expect(holds({ type: 'nextOrderPassed', days: Math.floor(overdueDays) }, lapsed(), undefined, NOW)).toBe(true);
		expect(holds({ type: 'nextOrderPassed', days: Math.ceil(overdueDays) }, lapsed(), undefined, NOW)).toBe(false);
		expect(holds({ type: 'nextOrderPassed', days: 0 }, person([[200, 40], [100, 60], [2, 80]]), undefined, NOW)).toBe(false);
	});

	it('keeps someone who never ordered out of every predictive condition; without a fit, says to run Fit Models', () => {
		const conditions: Condition[] = [
			{ type: 'probabilityActive', operator: 'gt', percent: 0 },
			{ type: 'expectedOrders', days: 30, operator: 'gte', value: 0 },
			{ type: 'predictedValue', operator: 'topPercent', value: 100 },
			{ type: 'nextOrderPassed', days: 0 },
		];
		for (const c of conditions) {
			const facts: Record<string, unknown> = {};
			expect(holds(c, person([]), undefined, NOW, facts)).toBe(false);
			expect(facts).toEqual({ prediction: null });
			expect(() => holds(c, { ...person([[10, 5]]), model: undefined }, undefined, NOW)).toThrow('run it once');
		}
		const match = matchSegments([{ name: 'Churn risk, high value', groups: [conditions.slice(0, 1)] }], lapsed(), undefined, NOW, true);
		expect(match.matched).toEqual(['Churn risk, high value']);
	});

	it('asks the store for the orders and the latest fit', () => {
		expect(factNeeds([{ name: 's', groups: [[{ type: 'nextOrderPassed', days: 0 }]] }], NOW)).toMatchObject({ orders: true, prediction: true });
		expect(factNeeds([{ name: 's', groups: [[{ type: 'lifecycle', milestone: 'repeatBuyer', withinDays: 0 }]] }], NOW)).toMatchObject({ orders: true, prediction: false });
	});

	it('reads the editor: defaults as the editor shows them, and problems named by their field', () => {
		const parsed = segmentsFromParameter(
			{
				segment: [
					{
						name: 'Lapsed, high value',
						conditions: {
							condition: [
								{ conditionType: 'probabilityActive' },
								{ conditionType: 'predictedValue' },
								{ conditionType: 'predictedValue', valueOperator: 'gte', amount: 250 },
								{ conditionType: 'expectedOrders', numberOperator: 'lt', number: 0.5 },
								{ conditionType: 'nextOrderPassed', overdueDays: 14 },
							],
						},
					},
				],
			},
			'Europe/Paris',
		);
		expect(parsed).toEqual({
			ok: true,
			segments: [
				{
					name: 'Lapsed, high value',
					groups: [
						[
							{ type: 'probabilityActive', operator: 'lt', percent: 30 },
							{ type: 'predictedValue', operator: 'topPercent', value: 20 },
							{ type: 'predictedValue', operator: 'gte', value: 250 },
							{ type: 'expectedOrders', days: 90, operator: 'lt', value: 0.5 },
							{ type: 'nextOrderPassed', days: 14 },
						],
					],
				},
			],
		});
		const problems = segmentsFromParameter(
			{ segment: [{ name: 'Bad', conditions: { condition: [{ conditionType: 'probabilityActive', probabilityPercent: 120 }, { conditionType: 'predictedValue', topPercent: 0 }] } }] },
			'Europe/Paris',
		);
		expect(problems).toEqual({
			ok: false,
			problems: [
				'segment 1 ("Bad"), condition 1: Probability (%): must be a percentage from 0 to 100',
				'segment 1 ("Bad"), condition 2: Top (%) or Amount: must be a percentage above 0 and up to 100, such as 20',
			],
		});
		expect(parseCondition({ type: 'expectedOrders', days: 0, operator: 'gt', value: 1 })).toMatchObject({ ok: false, problems: [{ field: 'days', reason: 'must be at least 1' }] });
	});

	it('reads a fit in plain words for the Fit Models output', () => {
		const output = fitOutput(MODEL);
		expect(output).toMatchObject({
			customers: 2357,
			repeatCustomers: 1411,
			likelyActivePercent: 60,
			typicalDaysBetweenOrders: 127,
			predictedValue: { horizonDays: 365, marginPercent: 100, annualDiscountPercent: 0, median: 500, top20PercentFrom: 800, top5PercentFrom: 950 },
			bgNbd: { parameters: MODEL.bgNbd.parameters, logLikelihood: -9582.4 },
		});
		expect(readingOf(MODEL)).toBe(
			'A typical customer buys about every 127 days while active; 60 % of the 2357 customers are likely still active (1411 ordered more than once). ' +
				"Over the next 365 days, a customer's predicted value is 500.00 at the median, and the top 20 % are worth 800.00 or more each.",
		);
	});
});
