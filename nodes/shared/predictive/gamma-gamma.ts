/**
 * The Gamma-Gamma model of spend per order (Fader and Hardie 2013, "The Gamma-Gamma Model of
 * Monetary Value", brucehardie.com/notes/025; first in Fader, Hardie and Lee 2005, "RFM and CLV:
 * Using Iso-Value Curves for Customer Base Analysis", JMR 42:415-430): a customer's order values are
 * Gamma(p, ν) around their own mean p/ν, and ν ~ Gamma(q, γ) across customers. It reads the repeat
 * orders of repeat buyers (x ≥ 1 and their mean value m̄), and assumes spend does not depend on how
 * often people buy. Combined with BG/NBD it gives the value a customer is expected to bring.
 */
import { expectedPurchases } from './bg-nbd';
import { NotEnoughDataError, type BgNbdParameters, type FitReport, type GammaGammaParameters, type PurchaseHistory, type SpendHistory } from './model';
import { evenSample, farthest, logGamma, WARM_START_SAMPLE, warmStarted } from './numeric';

/** Math's functions as module bindings: a global lookup per call is slow in some hosts (jest's vm contexts: about 20 times). */
const { abs, exp, log, pow } = Math;
const isFiniteNumber = Number.isFinite;

/** The least data a Gamma-Gamma fit accepts. */
export const GAMMA_GAMMA_MINIMUM = {
	/** Customers with at least one repeat order of positive value. */
	repeatCustomers: 2,
};

/** Fitted parameters beyond e^±LIMIT (spend scaled to a mean of 1) mean the data did not pin the model down. */
const LOG_PARAMETER_LIMIT = 12;

/**
 * The Gamma-Gamma log-likelihood of repeat buyers' mean spends (note 025 eq. 4, the density of the
 * mean m̄ of x order values): Σ ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m̄ + px ln x −
 * (px+q) ln(γ + x·m̄). Customers with x = 0 or m̄ ≤ 0 are not in the model and are skipped.
 */
export function gammaGammaLogLikelihood({ p, q, gamma }: GammaGammaParameters, spends: readonly SpendHistory[]): number {
	if (!(p > 0 && q > 0 && gamma > 0)) return -Infinity;
	const lgQ = logGamma(q);
	const qLogGamma = q * log(gamma);
	let total = 0;
	for (const { x, mx } of spends) {
		if (!(x >= 1 && mx > 0)) continue;
		const px = p * x;
		total += logGamma(px + q) - logGamma(px) - lgQ + qLogGamma + (px - 1) * log(mx) + px * log(x) - (px + q) * log(gamma + x * mx);
	}
	return total;
}

/** Repeat buyers grouped by x, for a likelihood with one logarithm per customer and pass. */
interface GroupedSpends {
	/** Distinct x, the buyers with it, and Σ ln m̄ over them. */
	x: number[];
	count: number[];
	sumLogM: number[];
	/** Per buyer: the index of its x and x·m̄. */
	xIndex: Int32Array;
	xm: Float64Array;
}

function groupSpends(buyers: readonly SpendHistory[], scale: number): GroupedSpends {
	const position = new Map<number, number>();
	const grouped: GroupedSpends = { x: [], count: [], sumLogM: [], xIndex: new Int32Array(buyers.length), xm: new Float64Array(buyers.length) };
	buyers.forEach((s, i) => {
		let at = position.get(s.x);
		if (at === undefined) {
			at = grouped.x.length;
			position.set(s.x, at);
			grouped.x.push(s.x);
			grouped.count.push(0);
			grouped.sumLogM.push(0);
		}
		const m = s.mx * scale;
		grouped.count[at]++;
		grouped.sumLogM[at] += log(m);
		grouped.xIndex[i] = at;
		grouped.xm[i] = s.x * m;
	});
	return grouped;
}

/** gammaGammaLogLikelihood on grouped repeat buyers. */
function groupedLogLikelihood({ p, q, gamma }: GammaGammaParameters, g: GroupedSpends): number {
	if (!(p > 0 && q > 0 && gamma > 0)) return -Infinity;
	const lgQ = logGamma(q);
	const logGammaParameter = log(gamma);
	const shape = new Float64Array(g.x.length);
	let total = 0;
	for (let k = 0; k < g.x.length; k++) {
		const px = p * g.x[k];
		shape[k] = px + q;
		total += g.count[k] * (logGamma(px + q) - logGamma(px) - lgQ + q * logGammaParameter + px * log(g.x[k])) + (px - 1) * g.sumLogM[k];
	}
	const { xIndex, xm } = g;
	for (let i = 0; i < xm.length; i++) total -= shape[xIndex[i]] * log(gamma + xm[i]);
	return total;
}

function checkSpend(s: SpendHistory): void {
	if (!Number.isInteger(s.x) || s.x < 0) throw new RangeError(`repeat purchases x must be a whole number ≥ 0, got ${s.x}`);
	if (!isFiniteNumber(s.mx)) throw new RangeError(`mean spend must be a finite number, got ${s.mx}`);
}

/**
 * Fits Gamma-Gamma by maximum likelihood on the repeat buyers among `spends` (x ≥ 1 with a positive
 * mean value; the others are ignored, and `customers` in the report counts the ones read). Throws
 * NotEnoughDataError with too few repeat buyers, when the spends do not pin the model down, or when
 * the fit has q ≤ 1 (then the average spend across customers would be infinite).
 */
export function fitGammaGamma(spends: readonly SpendHistory[]): FitReport<GammaGammaParameters> {
	const buyers: SpendHistory[] = [];
	let total = 0;
	for (const s of spends) {
		checkSpend(s);
		if (s.x >= 1 && s.mx > 0) {
			buyers.push(s);
			total += s.mx;
		}
	}
	if (buyers.length < GAMMA_GAMMA_MINIMUM.repeatCustomers) {
		throw new NotEnoughDataError(
			`The spend model needs at least ${GAMMA_GAMMA_MINIMUM.repeatCustomers} customers with a repeat order of positive value; the store has ${buyers.length}.`,
			{ needed: GAMMA_GAMMA_MINIMUM.repeatCustomers, found: buyers.length, what: 'repeat customers' },
		);
	}
	// Spend rescaled to a mean of 1 while fitting (γ is in money; p and q have no unit).
	const scale = buyers.length / total;
	const objective = (data: readonly SpendHistory[]) => {
		const grouped = groupSpends(data, scale);
		return (logs: number[]) => {
			for (const l of logs) if (!(abs(l) <= 2 * LOG_PARAMETER_LIMIT)) return Infinity;
			const [p, q, gamma] = logs.map(exp);
			return -groupedLogLikelihood({ p, q, gamma }, grouped);
		};
	};
	const best = warmStarted(
		objective(buyers),
		buyers.length > 2 * WARM_START_SAMPLE ? objective(evenSample(buyers, WARM_START_SAMPLE)) : undefined,
		[
			[0, 0, 0],
			[log(5), log(3), log(0.5)],
		],
		LOG_PARAMETER_LIMIT,
	);
	const runaway = farthest(best.x);
	if (!isFiniteNumber(best.value) || !best.converged || abs(best.x[runaway]) >= LOG_PARAMETER_LIMIT) {
		throw new NotEnoughDataError(
			`The spend model could not settle on these orders (its parameter ${['p', 'q', 'γ'][runaway]} ran off towards ${best.x[runaway] > 0 ? 'infinity' : 'zero'}): ` +
				`the ${buyers.length} repeat customers' average order values are too few or too alike to tell how spend varies. It needs more repeat customers: typically a few hundred.`,
			{ needed: GAMMA_GAMMA_MINIMUM.repeatCustomers, found: buyers.length, what: 'repeat customers' },
		);
	}
	const [p, q, gammaScaled] = best.x.map(exp);
	if (q <= 1) {
		throw new NotEnoughDataError(
			`The spend model found spend too uneven between customers for an average to exist (q = ${q.toFixed(3)} ≤ 1) among ${buyers.length} repeat customers; it needs more repeat customers.`,
			{ needed: GAMMA_GAMMA_MINIMUM.repeatCustomers, found: buyers.length, what: 'repeat customers' },
		);
	}
	const parameters: GammaGammaParameters = { p, q, gamma: gammaScaled / scale };
	return {
		parameters,
		logLikelihood: gammaGammaLogLikelihood(parameters, buyers),
		customers: buyers.length,
		iterations: best.iterations,
		converged: best.converged,
	};
}

/**
 * E[M | x, m̄]: the expected value of the customer's future orders (note 025 eq. 5),
 * p(γ + x·m̄)/(px + q − 1) = w·m̄ + (1 − w)·pγ/(q − 1) with w = px/(px + q − 1): their own mean
 * shrunk towards the population's. Without a repeat order (x = 0) it is the population mean pγ/(q−1).
 */
export function expectedSpend({ p, q, gamma }: GammaGammaParameters, s: SpendHistory): number {
	checkSpend(s);
	const x = s.mx > 0 ? s.x : 0;
	const denominator = p * x + q - 1;
	if (!(denominator > 0)) throw new RangeError(`the expected spend is infinite for q = ${q} ≤ 1 and x = ${x}`);
	return (p * (gamma + (x > 0 ? x * s.mx : 0))) / denominator;
}

export interface CustomerValueOptions {
	/** How far ahead, in the histories' time unit. */
	horizon: number;
	/** The share of an order's value that is profit (default 1: the value is revenue). */
	margin?: number;
	/** The discount rate per period (a period is horizon / steps); default 0. */
	discountRatePerPeriod?: number;
	/** Periods the horizon is cut into for discounting (default 12: months over a year). */
	steps?: number;
}

/**
 * The customer's expected value over the horizon (CLV): lifetimes' discrete approximation of the
 * discounted cash flow (`_customer_lifetime_value` in lifetimes/utils.py). The horizon is cut into
 * `steps` equal periods; the orders expected in period k, E[Y(k·Δ)] − E[Y((k−1)·Δ)] from BG/NBD
 * eq. 10, are valued at the Gamma-Gamma expected spend times the margin and discounted by
 * (1 + rate)^k, as if they all happened at the end of their period:
 * Σ_k margin · E[M] · (E[Y(kΔ)] − E[Y((k−1)Δ)]) / (1 + rate)^k.
 * Without a spend history (or with x = 0) the population's mean spend stands in.
 */
export function customerValue(
	bg: BgNbdParameters,
	gg: GammaGammaParameters,
	h: PurchaseHistory,
	s: SpendHistory | undefined,
	options: CustomerValueOptions,
): number {
	const { horizon } = options;
	const margin = options.margin ?? 1;
	const rate = options.discountRatePerPeriod ?? 0;
	const steps = options.steps ?? 12;
	if (!isFiniteNumber(horizon) || horizon < 0) throw new RangeError(`the horizon must be a finite number ≥ 0, got ${horizon}`);
	if (!isFiniteNumber(margin) || margin < 0) throw new RangeError(`the margin must be a finite number ≥ 0, got ${margin}`);
	if (!isFiniteNumber(rate) || rate <= -1) throw new RangeError(`the discount rate must be a finite number above −1, got ${rate}`);
	if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be a whole number ≥ 1, got ${steps}`);
	const spend = expectedSpend(gg, s ?? { x: 0, mx: 0 }) * margin;
	const period = horizon / steps;
	let value = 0;
	let before = 0;
	for (let k = 1; k <= steps; k++) {
		const upTo = expectedPurchases(bg, k * period, h);
		value += (spend * (upTo - before)) / pow(1 + rate, k);
		before = upTo;
	}
	return value;
}
