/**
 * The predictive models' mathematics (nodes/shared/predictive): BG/NBD and Gamma-Gamma fitted on the
 * CDNOW data set against published estimates, hand-worked cases, the numerics, and degenerate input.
 *
 * Data: test/fixtures/cdnow (see its README): the 2,357 customers of the CDNOW cohort in the 39-week
 * calibration period FHL 2005 use, as (x, t_x, T) in weeks and zbar, the mean value of the repeat
 * purchases (0 for the 1,411 customers without one).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { bgNbdLogLikelihood, expectedPurchases, expectedPurchasesNew, fitBgNbd, probabilityAlive } from '../../nodes/shared/predictive/bg-nbd.ts';
import { customerValue, expectedSpend, fitGammaGamma, gammaGammaLogLikelihood } from '../../nodes/shared/predictive/gamma-gamma.ts';
import { NotEnoughDataError, type BgNbdParameters, type PurchaseHistory, type SpendHistory } from '../../nodes/shared/predictive/model.ts';
import { hyp2f1, logGamma, nelderMead } from '../../nodes/shared/predictive/numeric.ts';
import { simulateCustomers } from '../harness/predictive.ts';

const rows = readFileSync(path.resolve(__dirname, '../fixtures/cdnow/cdnow_customers_summary_with_transactions.csv'), 'utf8')
	.trim()
	.split('\n')
	.slice(1)
	.map((line) => line.split(',').map(Number));
const histories: PurchaseHistory[] = rows.map(([, x, tx, T]) => ({ x, tx, T }));
const spends: SpendHistory[] = rows.map(([, x, , , zbar]) => ({ x, mx: zbar }));

/** FHL 2005's published estimates on CDNOW (r, α, a, b to 3 decimals). */
const PUBLISHED: BgNbdParameters = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };

describe('BG/NBD on CDNOW (Fader, Hardie and Lee 2005)', () => {
	const fit = fitBgNbd(histories);

	it('reads the 2,357 customers, 1,411 of them without a repeat purchase', () => {
		expect(histories).toHaveLength(2357);
		expect(histories.filter((h) => h.x === 0)).toHaveLength(1411);
	});

	it('finds the published estimates r = 0.243, α = 4.414, a = 0.793, b = 2.426 and LL = −9,582.4, to the printed precision', () => {
		// Reference: FHL 2005, "Counting Your Customers the Easy Way", Marketing Science 24(2), the
		// CDNOW application (the figures the issue quotes; Hardie's note 004, "Implementing the BG/NBD
		// Model for Customer Base Analysis in Excel", has the same). lifetimes (scipy) prints
		// r 0.242593, α 4.413532, a 0.792886, b 2.425752 on the same file (docs/Quickstart.md).
		const { r, alpha, a, b } = fit.parameters;
		expect([r.toFixed(3), alpha.toFixed(3), a.toFixed(3), b.toFixed(3)]).toEqual(['0.243', '4.414', '0.793', '2.426']);
		expect(fit.logLikelihood.toFixed(1)).toBe('-9582.4');
		expect(fit.converged).toBe(true);
		expect(fit.customers).toBe(2357);
		// α sits 3e-5 from a rounding boundary (4.4135): the optimum has to be found to 5 digits.
		expect(alpha).toBeCloseTo(4.413532, 4);
		// A maximum: no better than the fit at the published (rounded) values.
		expect(bgNbdLogLikelihood(PUBLISHED, histories)).toBeLessThan(fit.logLikelihood);
	});

	it('gives the conditional expectation of Hardie\'s spreadsheet: 1.226 purchases in 39 weeks for x = 2, t_x = 30.43, T = 38.86', () => {
		// Reference: note 004's spreadsheet, as lifetimes' test
		// test_conditional_expectation_returns_same_value_as_Hardie_excel_sheet quotes it.
		expect(expectedPurchases(fit.parameters, 39, { x: 2, tx: 30.43, T: 38.86 })).toBeCloseTo(1.226, 3);
	});

	it('gives the spreadsheet\'s population expectation E[X(t)] (FHL eq. 9)', () => {
		// Reference: lifetimes' test_expectation_returns_same_value_Hardie_excel_sheet (3 decimals).
		const times = [0.1429, 1, 3, 31.8571, 32, 78];
		const expected = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576];
		times.forEach((t, i) => expect(Math.abs(expectedPurchasesNew(fit.parameters, t) - expected[i])).toBeLessThan(1e-3));
	});

	it('ranks the heaviest buyers as lifetimes\' docs print (expected purchases in the next week)', () => {
		// Reference: lifetimes docs/Quickstart.md, "Ranking customers from best to worst" (ids 509,
		// 841, 1981, 157, 1516), computed from lifetimes' fit of the same file. x up to 29: the
		// direct 2F1 series would have terms near 1e10 here; the transformed one does not.
		const cases: Array<[PurchaseHistory, number]> = [
			[{ x: 18, tx: 35.14, T: 35.86 }, 0.424877],
			[{ x: 19, tx: 34.0, T: 34.14 }, 0.474738],
			[{ x: 17, tx: 28.43, T: 28.86 }, 0.486526],
			[{ x: 29, tx: 37.71, T: 38.0 }, 0.662396],
			[{ x: 26, tx: 30.86, T: 31.0 }, 0.710623],
		];
		for (const [h, value] of cases) expect(expectedPurchases(fit.parameters, 1, h)).toBeCloseTo(value, 5);
	});
});

describe('Gamma-Gamma on CDNOW\'s repeat buyers (Fader and Hardie 2013)', () => {
	const fit = fitGammaGamma(spends);

	it('fits the 946 repeat buyers and finds p ≈ 6.25, q ≈ 3.74, γ ≈ 15.44', () => {
		// Data: the 946 customers with a repeat purchase in the calibration period and zbar, the mean
		// value of their repeat purchases (to the cent), the sample of note 025; customers with x = 0
		// are left out by the fit. References: Fader and Hardie (2013), "The Gamma-Gamma Model of
		// Monetary Value", brucehardie.com/notes/025: p = 6.25, q = 3.74, γ = 15.44 (Excel Solver);
		// lifetimes' docs/Quickstart.md on this very file: "p: 6.25, q: 3.74, v: 15.45". Ours is
		// γ = 15.4477, lifetimes' figure to 2 decimals and 0.008 from the note's: q and γ are strongly
		// correlated, and the likelihood is flat along that ridge (see the next test).
		const { p, q, gamma } = fit.parameters;
		expect(fit.customers).toBe(946);
		expect([p.toFixed(2), q.toFixed(2), gamma.toFixed(2)]).toEqual(['6.25', '3.74', '15.45']);
		expect(Math.abs(gamma - 15.44)).toBeLessThan(0.01);
		expect(fit.converged).toBe(true);
	});

	it('is a maximum: the note\'s rounded values are no better, by a hair', () => {
		const atNote = gammaGammaLogLikelihood({ p: 6.25, q: 3.74, gamma: 15.44 }, spends);
		expect(atNote).toBeLessThan(fit.logLikelihood);
		expect(fit.logLikelihood - atNote).toBeLessThan(0.05);
	});

	it('gives the conditional expected average spend lifetimes\' docs print for the first customers', () => {
		// Reference: lifetimes docs/Quickstart.md (conditional_expected_average_profit, customers 1,
		// 2, 3, 6, 9); lifetimes' test quotes the same figures, to 2 decimals, from note 025's
		// spreadsheet. Customer 3 has no repeat purchase: the population mean pγ/(q−1).
		const expected: Array<[number, number]> = [
			[0, 24.658619],
			[1, 18.911489],
			[2, 35.170981],
			[5, 71.462843],
			[8, 27.282408],
		];
		for (const [i, value] of expected) expect(expectedSpend(fit.parameters, spends[i])).toBeCloseTo(value, 3);
	});

	it('gives the CLV lifetimes\' docs print, with its discrete discounting', () => {
		// Reference: lifetimes docs/Quickstart.md, customer_lifetime_value(bgf, …, time=12,
		// discount_rate=0.01) on this file: its default freq "D" takes 30 time units (here weeks) per
		// month, so the horizon is 12 × 30 = 360 weeks in 12 steps discounted at 1 % each.
		const bg = fitBgNbd(histories).parameters;
		const expected: Array<[number, number]> = [
			[0, 140.096211],
			[1, 18.943467],
			[2, 38.180574],
			[5, 1003.868107],
			[6, 28.109683],
			[8, 167.418216],
		];
		for (const [i, value] of expected) {
			const clv = customerValue(bg, fit.parameters, histories[i], spends[i], { horizon: 360, steps: 12, discountRatePerPeriod: 0.01 });
			expect(Math.abs(clv - value) / value).toBeLessThan(2e-6);
		}
		// The margin scales it; no spend history means the population's mean spend.
		const base = customerValue(bg, fit.parameters, histories[2], undefined, { horizon: 360, steps: 12, discountRatePerPeriod: 0.01 });
		expect(base).toBeCloseTo(38.180574, 4);
		expect(customerValue(bg, fit.parameters, histories[2], undefined, { horizon: 360, steps: 12, discountRatePerPeriod: 0.01, margin: 0.3 })).toBeCloseTo(0.3 * base, 10);
		// Without discounting the steps do not matter: E[Y(360)] × E[M].
		const undiscounted = expectedPurchases(bg, 360, histories[0]) * expectedSpend(fit.parameters, spends[0]);
		expect(customerValue(bg, fit.parameters, histories[0], spends[0], { horizon: 360, steps: 1 })).toBeCloseTo(undiscounted, 10);
		expect(customerValue(bg, fit.parameters, histories[0], spends[0], { horizon: 360, steps: 7 })).toBeCloseTo(undiscounted, 10);
	});
});

describe('P(active) and the conditional expectation, worked by hand', () => {
	it('P(active) for x = 2, t_x = 30.43, T = 38.86 at the published parameters', () => {
		// 1 / (1 + a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)) (Fader, Hardie and Lee, brucehardie.com/notes/021):
		// a/(b+x−1) = 0.793/3.426 = 0.231465; (α+T)/(α+t_x) = 43.274/34.844 = 1.241935;
		// ^(r+x) = exp(2.243 × 0.216671) = exp(0.485993) = 1.625789; 1/(1 + 0.231465 × 1.625789)
		// = 1/1.376314 = 0.726579.
		expect(probabilityAlive(PUBLISHED, { x: 2, tx: 30.43, T: 38.86 })).toBeCloseTo(0.726579, 6);
	});

	it('P(active) = 1 without a repeat purchase (people drop out only right after one)', () => {
		expect(probabilityAlive(PUBLISHED, { x: 0, tx: 0, T: 38.86 })).toBe(1);
		expect(probabilityAlive(PUBLISHED, { x: 0, tx: 0, T: 0 })).toBe(1);
	});

	it('P(active) = b/(a+b) for a repeat order on the day of the first, seen at once (T = t_x = 0)', () => {
		// ((α+0)/(α+0))^(r+x) = 1, so 1/(1 + a/b): 1 − E[p], the chance of not dropping out after it.
		expect(probabilityAlive(PUBLISHED, { x: 1, tx: 0, T: 0 })).toBeCloseTo(2.426 / (0.793 + 2.426), 12);
	});

	it('P(active) falls with silence and rises with recency, and is 0, not NaN, for an absurd history', () => {
		const recent = probabilityAlive(PUBLISHED, { x: 5, tx: 30, T: 31 });
		const silent = probabilityAlive(PUBLISHED, { x: 5, tx: 10, T: 31 });
		expect(recent).toBeGreaterThan(silent);
		expect(probabilityAlive(PUBLISHED, { x: 1000, tx: 10, T: 100 })).toBe(0);
		expect(expectedPurchases(PUBLISHED, 10, { x: 1000, tx: 10, T: 100 })).toBe(0);
	});

	it('E[Y(t) | x, t_x, T] where 2F1 is elementary: r = 2, a = 2, b = 1', () => {
		// Eq. 10: (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; z)] · P(active).
		// With r = 2, a = 2, b = 1: 2F1(2+x, 1+x; 2+x; z) = (1−z)^−(1+x) (2F1(a, b; a; z) = (1−z)^−b),
		// and (α+T)/(α+T+t) = 1 − z, so the bracket is 1 − (1−z) = z and E = (2+x) · z · P(active).
		// α = 10, x = 1, t_x = 5, T = 10, t = 10: z = 10/30 = 1/3; P(active) = 1/(1 + 2/1 · (20/15)^3)
		// = 1/(1 + 128/27) = 27/155; E = 3 · 1/3 · 27/155 = 27/155 = 0.174194.
		const params = { r: 2, alpha: 10, a: 2, b: 1 };
		const h = { x: 1, tx: 5, T: 10 };
		expect(probabilityAlive(params, h)).toBeCloseTo(27 / 155, 12);
		expect(expectedPurchases(params, 10, h)).toBeCloseTo(27 / 155, 12);
		// x = 0, a new customer (eq. 9): 2 · t/(α+t) = 2 · 10/20 = 1.
		expect(expectedPurchasesNew(params, 10)).toBeCloseTo(1, 12);
	});

	it('E[Y(t)] is 0 at t = 0, grows with t, and is continuous through a = 1 (where (a+b+x−1)/(a−1) is 0/0)', () => {
		const h = { x: 2, tx: 5, T: 8 };
		expect(expectedPurchases(PUBLISHED, 0, h)).toBe(0);
		const values = [1, 5, 20, 100, 1000].map((t) => expectedPurchases(PUBLISHED, t, h));
		for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]);
		const atOne = expectedPurchases({ ...PUBLISHED, a: 1 }, 10, h);
		expect(Number.isFinite(atOne)).toBe(true);
		expect(expectedPurchases({ ...PUBLISHED, a: 1 + 1e-7 }, 10, h)).toBeCloseTo(atOne, 6);
		expect(expectedPurchases({ ...PUBLISHED, a: 1 - 1e-7 }, 10, h)).toBeCloseTo(atOne, 6);
	});

	it('matches eq. 10 summed directly (the untransformed 2F1) where that converges', () => {
		// Small x and z: the textbook form, with its own plain series, agrees with ours.
		const { r, alpha, a, b } = PUBLISHED;
		const h = { x: 3, tx: 20, T: 30 };
		const t = 10;
		const z = t / (alpha + h.T + t);
		let term = 1;
		let sum = 1;
		for (let n = 0; n < 2000; n++) {
			term *= ((r + h.x + n) * (b + h.x + n) * z) / ((a + b + h.x - 1 + n) * (n + 1));
			sum += term;
		}
		const direct =
			((a + b + h.x - 1) / (a - 1)) * (1 - Math.pow((alpha + h.T) / (alpha + h.T + t), r + h.x) * sum) * probabilityAlive(PUBLISHED, h);
		expect(expectedPurchases(PUBLISHED, t, h)).toBeCloseTo(direct, 10);
	});
});

describe('the likelihoods', () => {
	it('BG/NBD: the sum of each customer\'s eq. 6 term, written out', () => {
		const { r, alpha, a, b } = PUBLISHED;
		const sample = histories.slice(0, 200);
		let total = 0;
		for (const { x, tx, T } of sample) {
			const head = logGamma(r + x) - logGamma(r) + r * Math.log(alpha) + logGamma(a + b) + logGamma(b + x) - logGamma(b) - logGamma(a + b + x);
			const tail = Math.pow(alpha + T, -(r + x)) + (x > 0 ? (a / (b + x - 1)) * Math.pow(alpha + tx, -(r + x)) : 0);
			total += head + Math.log(tail);
		}
		expect(bgNbdLogLikelihood(PUBLISHED, sample)).toBeCloseTo(total, 8);
	});

	it('the fits do not depend on the time or money unit (weeks or days, dollars or cents)', () => {
		const bgWeeks = fitBgNbd(histories).parameters;
		const bgDays = fitBgNbd(histories.map((h) => ({ x: h.x, tx: 7 * h.tx, T: 7 * h.T }))).parameters;
		expect(bgDays.alpha / 7).toBeCloseTo(bgWeeks.alpha, 4);
		expect(bgDays.r).toBeCloseTo(bgWeeks.r, 5);
		expect(bgDays.a).toBeCloseTo(bgWeeks.a, 4);
		expect(bgDays.b).toBeCloseTo(bgWeeks.b, 3);
		const ggDollars = fitGammaGamma(spends).parameters;
		const ggCents = fitGammaGamma(spends.map((s) => ({ x: s.x, mx: 100 * s.mx }))).parameters;
		expect(ggCents.gamma / 100).toBeCloseTo(ggDollars.gamma, 3);
		expect(ggCents.p).toBeCloseTo(ggDollars.p, 4);
	});

	it('recovers the parameters customers were drawn from (10,000 customers, days)', () => {
		const truth = { r: 0.25, alpha: 40, a: 0.8, b: 2.5 };
		const drawn = simulateCustomers({ customers: 10_000, bg: truth, minT: 1, maxT: 730, seed: 7 });
		const fit = fitBgNbd(drawn.map((c) => c.history));
		expect(fit.converged).toBe(true);
		// A maximum of the likelihood: at least as high as at the truth.
		expect(fit.logLikelihood).toBeGreaterThanOrEqual(bgNbdLogLikelihood(truth, drawn.map((c) => c.history)));
		// The buying rate r/α and the drop-out probability a/(a+b) within 10 %.
		expect(Math.abs(fit.parameters.r / fit.parameters.alpha / (truth.r / truth.alpha) - 1)).toBeLessThan(0.1);
		const dropout = fit.parameters.a / (fit.parameters.a + fit.parameters.b);
		expect(Math.abs(dropout / (0.8 / 3.3) - 1)).toBeLessThan(0.1);
		// P(active) sorts the still-active from the dropped-out better than chance, by a wide margin.
		const active = drawn.filter((c) => c.history.x > 0);
		const mean = (list: typeof active) => list.reduce((s, c) => s + probabilityAlive(fit.parameters, c.history), 0) / list.length;
		expect(mean(active.filter((c) => c.alive)) - mean(active.filter((c) => !c.alive))).toBeGreaterThan(0.2);
	});
});

describe('too little data, and degenerate histories: a number or NotEnoughDataError, never NaN', () => {
	const expectNotEnough = (fit: () => unknown, message: RegExp) => {
		let error: unknown;
		try {
			fit();
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(NotEnoughDataError);
		expect((error as Error).message).toMatch(message);
	};

	it('one customer', () => {
		expectNotEnough(() => fitBgNbd([{ x: 3, tx: 20, T: 30 }]), /needs at least 2 customers .*; the store has 1/);
		expectNotEnough(() => fitGammaGamma([{ x: 3, mx: 20 }]), /needs at least 2 customers with a repeat order .*; the store has 1/);
		expectNotEnough(() => fitBgNbd([]), /the store has 0/);
	});

	it('nobody orders again', () => {
		const once = Array.from({ length: 500 }, (_, i) => ({ x: 0, tx: 0, T: 1 + (i % 300) }));
		expectNotEnough(() => fitBgNbd(once), /at least 1 customer with a repeat order .*; the store has 0 among 500 customers/);
		expectNotEnough(() => fitGammaGamma(once.map(() => ({ x: 0, mx: 0 }))), /the store has 0/);
	});

	it('everybody\'s repeat orders on the day of their first (t_x = 0)', () => {
		const sameDay = Array.from({ length: 500 }, (_, i) => ({ x: 1 + (i % 3), tx: 0, T: 1 + (i % 300) }));
		expectNotEnough(() => fitBgNbd(sameDay), /could not settle .* e\.g\. all on the day of the first/);
		// Half of them, beside customers who never came back: still nothing to learn a rate from.
		expectNotEnough(() => fitBgNbd(sameDay.map((h, i) => (i % 2 ? h : { x: 0, tx: 0, T: h.T }))), /could not settle/);
	});

	it('nobody observed for any time (T = 0: every first order placed at the fit date)', () => {
		expectNotEnough(() => fitBgNbd(Array.from({ length: 50 }, () => ({ x: 1, tx: 0, T: 0 }))), /the store has 0/);
	});

	it('every repeat buyer spending the same', () => {
		expectNotEnough(() => fitGammaGamma(Array.from({ length: 200 }, (_, i) => ({ x: 1 + (i % 4), mx: 25 }))), /spend model could not settle/);
	});

	it('a few customers: a fit, or the reason there is none', () => {
		for (const size of [2, 5, 20, 50]) {
			const drawn = simulateCustomers({ customers: size, bg: { r: 0.25, alpha: 40, a: 0.8, b: 2.5 }, minT: 30, maxT: 730, seed: size });
			try {
				const fit = fitBgNbd(drawn.map((c) => c.history));
				for (const value of Object.values(fit.parameters)) expect(Number.isFinite(value) && value > 0).toBe(true);
				expect(Number.isFinite(fit.logLikelihood)).toBe(true);
			} catch (error) {
				expect(error).toBeInstanceOf(NotEnoughDataError);
			}
		}
	});

	it('a customer seen for no time, or with all orders on one day, still gets numbers', () => {
		for (const h of [
			{ x: 0, tx: 0, T: 0 },
			{ x: 3, tx: 0, T: 0 },
			{ x: 3, tx: 0, T: 50 },
		]) {
			const alive = probabilityAlive(PUBLISHED, h);
			const expected = expectedPurchases(PUBLISHED, 10, h);
			expect(alive).toBeGreaterThan(0);
			expect(alive).toBeLessThanOrEqual(1);
			expect(Number.isFinite(expected) && expected > 0).toBe(true);
		}
		// Seen for no time, three orders that day: very likely active, and buying more than a newcomer.
		expect(expectedPurchases(PUBLISHED, 10, { x: 3, tx: 0, T: 0 })).toBeGreaterThan(expectedPurchasesNew(PUBLISHED, 10));
		expect(expectedSpend({ p: 6.25, q: 3.74, gamma: 15.44 }, { x: 0, mx: 0 })).toBeCloseTo((6.25 * 15.44) / 2.74, 10);
	});

	it('refuses a malformed history with the reason, rather than computing with it', () => {
		expect(() => probabilityAlive(PUBLISHED, { x: 2, tx: 40, T: 30 })).toThrow(/tx must be between 0 and T = 30/);
		expect(() => probabilityAlive(PUBLISHED, { x: -1, tx: 0, T: 30 })).toThrow(/whole number/);
		expect(() => expectedPurchases(PUBLISHED, Number.NaN, { x: 1, tx: 1, T: 2 })).toThrow(/horizon t/);
		expect(() => fitBgNbd([{ x: 1, tx: 1, T: Number.NaN }])).toThrow(RangeError);
		expect(() => customerValue(PUBLISHED, { p: 6, q: 4, gamma: 15 }, { x: 1, tx: 1, T: 2 }, undefined, { horizon: 10, steps: 0 })).toThrow(/steps/);
	});
});

describe('numerics', () => {
	it('log-gamma', () => {
		expect(logGamma(1)).toBeCloseTo(0, 14);
		expect(logGamma(2)).toBeCloseTo(0, 14);
		expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 14);
		expect(logGamma(10)).toBeCloseTo(Math.log(362880), 12);
		let logFactorial = 0;
		for (let k = 2; k <= 170; k++) logFactorial += Math.log(k);
		expect(logGamma(171) / logFactorial).toBeCloseTo(1, 13);
		expect(logGamma(1e-8)).toBeCloseTo(-Math.log(1e-8) - 0.5772156649 * 1e-8, 8);
	});

	it('2F1 against closed forms, including slow series and large parameters', () => {
		for (const z of [0.1, 0.5, 0.9, 0.999]) {
			expect(hyp2f1(1, 1, 2, z)).toBeCloseTo(-Math.log(1 - z) / z, 10);
			expect(hyp2f1(2.5, 0.7, 0.7, z) / Math.pow(1 - z, -2.5)).toBeCloseTo(1, 10);
			// Large a, b: the direct series' terms first grow to about 1e10; Euler's form takes over.
			expect(hyp2f1(30.2, 0.7, 30.2, z) / Math.pow(1 - z, -0.7)).toBeCloseTo(1, 10);
		}
		// A non-trivial transformed case against the plain series (both converge at z = 0.5).
		let term = 1;
		let plain = 1;
		for (let n = 0; n < 5000; n++) {
			term *= ((20 + n) * (21 + n) * 0.5) / ((20.5 + n) * (n + 1));
			plain += term;
		}
		expect(hyp2f1(20, 21, 20.5, 0.5) / plain).toBeCloseTo(1, 11);
		expect(hyp2f1(0.5, 0.5, 1.5, 0.25)).toBeCloseTo(Math.asin(0.5) / 0.5, 12);
		expect(hyp2f1(1, 1, 2, -1)).toBeCloseTo(Math.log(2), 12);
		// Terminating at n = 3, as (−3)_4 = 0: 1 − 3 + 9/4 − 1/2 = −1/4.
		expect(hyp2f1(-3, 2, 1, 0.5)).toBeCloseTo(-0.25, 12);
		expect(() => hyp2f1(1, 1, 2, 1)).toThrow(RangeError);
	});

	it('Nelder–Mead finds the Rosenbrock minimum', () => {
		const rosenbrock = ([x, y]: number[]) => 100 * (y - x * x) ** 2 + (1 - x) ** 2;
		const result = nelderMead(rosenbrock, [-1.2, 1], { tolerance: 1e-14, xTolerance: 1e-10, maxEvaluations: 10_000 });
		expect(result.converged).toBe(true);
		expect(result.x[0]).toBeCloseTo(1, 6);
		expect(result.x[1]).toBeCloseTo(1, 6);
	});
});
