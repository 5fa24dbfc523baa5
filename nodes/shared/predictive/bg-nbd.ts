/**
 * The BG/NBD model of repeat buying (Fader, Hardie and Lee 2005, "Counting Your Customers the Easy
 * Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2):275-284; "FHL" below):
 * while active, a customer buys at a Poisson rate λ ~ Gamma(r, α); after each purchase they drop out
 * with probability p ~ Beta(a, b). A customer's history is (x, tx, T): repeat purchases, time of the
 * last one and time observed, all from the first purchase.
 *
 * Fitting is by maximum likelihood (FHL eq. 6), with Nelder–Mead over the logarithms of the
 * parameters. Time is rescaled so that the longest history is 10 units while fitting (as lifetimes
 * does), which keeps the search well conditioned whatever the unit; α is scaled back.
 */
import { NotEnoughDataError, type BgNbdParameters, type FitReport, type PurchaseHistory } from './model';
import { evenSample, farthest, hyp2f1MinusOneOverB, logGamma, WARM_START_SAMPLE, warmStarted } from './numeric';

/** Math's functions as module bindings: a global lookup per call is slow in some hosts (jest's vm contexts: about 20 times). */
const { abs, exp, expm1, log, log1p, max } = Math;
const isFiniteNumber = Number.isFinite;

/** The least data a BG/NBD fit accepts; fewer is refused with a NotEnoughDataError. */
export const BG_NBD_MINIMUM = {
	/** Customers with at least one order and some time observed (T > 0). */
	customers: 2,
	/** Customers who ordered again: without one, nothing tells how often people buy. */
	repeatCustomers: 1,
};

/** Fitted parameters beyond e^±LIMIT (in the fitting's scaled units) mean the data did not pin the model down. */
const LOG_PARAMETER_LIMIT = 12;

/** Throws a RangeError naming the fault when a history is not one BG/NBD can read. */
export function checkPurchaseHistory(h: PurchaseHistory): void {
	const { x, tx, T } = h;
	if (!Number.isInteger(x) || x < 0) throw new RangeError(`repeat purchases x must be a whole number ≥ 0, got ${x}`);
	if (!isFiniteNumber(T) || T < 0) throw new RangeError(`customer age T must be a finite number ≥ 0, got ${T}`);
	if (!isFiniteNumber(tx) || tx < 0 || tx > T) throw new RangeError(`time of last purchase tx must be between 0 and T = ${T}, got ${tx}`);
}

/** Histories grouped by identical (x, tx, T), with the per-x constants of the likelihood. */
interface Patterns {
	count: number;
	x: Float64Array;
	tx: Float64Array;
	T: Float64Array;
	weight: Float64Array;
	/** Index into distinctX of each pattern's x. */
	xIndex: Int32Array;
	distinctX: number[];
	/** Customers with each distinct x. */
	xWeight: number[];
	customers: number;
}

function patternsOf(histories: readonly PurchaseHistory[], scale: number): Patterns {
	const index = new Map<string, number>();
	const xs: number[] = [];
	const txs: number[] = [];
	const Ts: number[] = [];
	const weights: number[] = [];
	for (const h of histories) {
		const tx = h.x === 0 ? 0 : h.tx;
		const key = `${h.x}|${tx}|${h.T}`;
		const at = index.get(key);
		if (at !== undefined) {
			weights[at]++;
			continue;
		}
		index.set(key, xs.length);
		xs.push(h.x);
		txs.push(tx * scale);
		Ts.push(h.T * scale);
		weights.push(1);
	}
	const xPosition = new Map<number, number>();
	const distinctX: number[] = [];
	const xWeight: number[] = [];
	const xIndex = new Int32Array(xs.length);
	for (let i = 0; i < xs.length; i++) {
		let at = xPosition.get(xs[i]);
		if (at === undefined) {
			at = distinctX.length;
			xPosition.set(xs[i], at);
			distinctX.push(xs[i]);
			xWeight.push(0);
		}
		xIndex[i] = at;
		xWeight[at] += weights[i];
	}
	return {
		count: xs.length,
		x: Float64Array.from(xs),
		tx: Float64Array.from(txs),
		T: Float64Array.from(Ts),
		weight: Float64Array.from(weights),
		xIndex,
		distinctX,
		xWeight,
		customers: histories.length,
	};
}

/** The BG/NBD log-likelihood (FHL eq. 6, summed over customers) of grouped histories. */
function patternsLogLikelihood({ r, alpha, a, b }: BgNbdParameters, p: Patterns): number {
	if (!(r > 0 && alpha > 0 && a > 0 && b > 0)) return -Infinity;
	// The parts that depend on x alone: ln Γ(r+x) − ln Γ(r) + ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x).
	const lgR = logGamma(r);
	const lgB = logGamma(b);
	const lgAB = logGamma(a + b);
	const logA = log(a);
	let total = 0;
	let customers = 0;
	const dropTerm = new Float64Array(p.distinctX.length);
	for (let k = 0; k < p.distinctX.length; k++) {
		const x = p.distinctX[k];
		const w = p.xWeight[k];
		customers += w;
		if (x > 0) {
			total += w * (logGamma(r + x) - lgR + lgAB + logGamma(b + x) - lgB - logGamma(a + b + x));
			dropTerm[k] = logA - log(b + x - 1);
		}
	}
	total += customers * r * log(alpha);
	const { x, tx, T, weight, xIndex } = p;
	for (let i = 0; i < p.count; i++) {
		const rx = r + x[i];
		// ln[(α+T)^−(r+x) + 1{x>0}·a/(b+x−1)·(α+tx)^−(r+x)], as a log-sum-exp.
		const still = -rx * log(alpha + T[i]);
		if (x[i] === 0) {
			total += weight[i] * still;
			continue;
		}
		const dropped = dropTerm[xIndex[i]] - rx * log(alpha + tx[i]);
		const high = still > dropped ? still : dropped;
		const low = still > dropped ? dropped : still;
		total += weight[i] * (high + log1p(exp(low - high)));
	}
	return total;
}

/** The BG/NBD log-likelihood of the histories under the parameters (FHL eq. 6 summed; natural log). */
export function bgNbdLogLikelihood(params: BgNbdParameters, histories: readonly PurchaseHistory[]): number {
	for (const h of histories) checkPurchaseHistory(h);
	return patternsLogLikelihood(params, patternsOf(histories, 1));
}

/**
 * Fits BG/NBD by maximum likelihood. Throws NotEnoughDataError when the histories cannot support a
 * fit (too few customers, nobody ordering twice) or when the search runs off to a boundary (the
 * orders do not pin the model down), and RangeError for a malformed history.
 */
export function fitBgNbd(histories: readonly PurchaseHistory[]): FitReport<BgNbdParameters> {
	let observed = 0;
	let repeaters = 0;
	let longest = 0;
	for (const h of histories) {
		checkPurchaseHistory(h);
		if (h.T > 0) observed++;
		if (h.x > 0) repeaters++;
		if (h.T > longest) longest = h.T;
	}
	if (observed < BG_NBD_MINIMUM.customers) {
		throw new NotEnoughDataError(
			`The purchase model needs at least ${BG_NBD_MINIMUM.customers} customers whose first order is older than the fit date; the store has ${observed}.`,
			{ needed: BG_NBD_MINIMUM.customers, found: observed, what: 'customers' },
		);
	}
	if (repeaters < BG_NBD_MINIMUM.repeatCustomers) {
		throw new NotEnoughDataError(
			`The purchase model needs at least ${BG_NBD_MINIMUM.repeatCustomers} customer with a repeat order (a second order after the first); the store has ${repeaters} among ${histories.length} customers.`,
			{ needed: BG_NBD_MINIMUM.repeatCustomers, found: repeaters, what: 'repeat customers' },
		);
	}
	const scale = 10 / longest;
	const patterns = patternsOf(histories, scale);
	const objective = (data: Patterns) => (logs: number[]) => {
		for (const l of logs) if (!(abs(l) <= 2 * LOG_PARAMETER_LIMIT)) return Infinity;
		const [r, alpha, a, b] = logs.map(exp);
		return -patternsLogLikelihood({ r, alpha, a, b }, data);
	};
	// Starts, in scaled time: lifetimes' all-ones, and one nearer typical retail fits (few
	// purchases a period, low drop-out). Many customers: the starts are searched from on an even
	// sample first, and the whole data from the sample's optimum (a few times fewer passes over it).
	const best = warmStarted(
		objective(patterns),
		histories.length > 2 * WARM_START_SAMPLE ? objective(patternsOf(evenSample(histories, WARM_START_SAMPLE), scale)) : undefined,
		[
			[0, 0, 0, 0],
			[log(0.5), log(2), log(0.5), log(2)],
		],
		LOG_PARAMETER_LIMIT,
	);
	// A search still running when its budget ran out, or ending at e^±LIMIT, is heading for a boundary
	// of the parameter space (no spread in buying rates or in drop-out): the data do not pin it down.
	const runaway = farthest(best.x);
	if (!isFiniteNumber(best.value) || !best.converged || abs(best.x[runaway]) >= LOG_PARAMETER_LIMIT) {
		throw new NotEnoughDataError(
			`The purchase model could not settle on these orders (its parameter ${['r', 'α', 'a', 'b'][runaway]} ran off towards ${best.x[runaway] > 0 ? 'infinity' : 'zero'}): ` +
				`${repeaters} of ${histories.length} customers ordered again, which does not tell how often people buy and when they stop ` +
				'(too few customers, or repeat orders too alike, e.g. all on the day of the first). It needs more customers and a longer history: typically a few hundred customers, many of them with a repeat order.',
			{ needed: BG_NBD_MINIMUM.repeatCustomers, found: repeaters, what: 'repeat customers' },
		);
	}
	const [r, alphaScaled, a, b] = best.x.map(exp);
	const parameters: BgNbdParameters = { r, alpha: alphaScaled / scale, a, b };
	return {
		parameters,
		// The likelihood in the caller's time unit: rescaling time by s multiplies each customer's
		// density by s^−x (tx and T are times), so ln L changes by −ln(s)·Σx.
		logLikelihood: patternsLogLikelihood(parameters, patternsOf(histories, 1)),
		customers: histories.length,
		iterations: best.iterations,
		converged: best.converged,
	};
}

/**
 * P(active | x, tx, T): the probability that the customer has not dropped out (Fader, Hardie and Lee,
 * "Computing P(alive) using the BG/NBD model", brucehardie.com/notes/021):
 * 1 / (1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+tx))^(r+x)); 1 for a customer who never ordered again
 * (in BG/NBD people can only drop out right after a purchase).
 */
export function probabilityAlive({ r, alpha, a, b }: BgNbdParameters, h: PurchaseHistory): number {
	checkPurchaseHistory(h);
	if (h.x === 0) return 1;
	const logOdds = (r + h.x) * log((alpha + h.T) / (alpha + h.tx)) + log(a) - log(b + h.x - 1);
	return 1 / (1 + exp(logOdds));
}

/**
 * E[Y(t) | x, tx, T]: the expected number of purchases in the next t (FHL eq. 10):
 * (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; z)] · P(active), with
 * z = t/(α+T+t). Euler's transformation of 2F1 turns the bracket into 1 − (1−z)^(a−1) ·
 * 2F1(a+b−1−r, a−1; a+b+x−1; z), whose series has small parameters whatever x (the direct one
 * overflows for customers with many orders); with B = a − 1 and 2F1 = 1 + B·G it becomes
 * (a+b+x−1) · [(1 − (1−z)^B)/B − (1−z)^B · G] · P(active), exact also as a → 1.
 */
export function expectedPurchases(params: BgNbdParameters, t: number, h: PurchaseHistory): number {
	checkPurchaseHistory(h);
	if (!isFiniteNumber(t) || t < 0) throw new RangeError(`the horizon t must be a finite number ≥ 0, got ${t}`);
	if (t === 0) return 0;
	const { r, alpha, a, b } = params;
	const alive = probabilityAlive(params, h);
	if (alive === 0) return 0;
	const z = t / (alpha + h.T + t);
	const logOneMinusZ = -log1p(t / (alpha + h.T));
	const B = a - 1;
	const C = a + b + h.x - 1;
	const G = hyp2f1MinusOneOverB(a + b - 1 - r, B, C, z);
	const firstPart = B === 0 ? -logOneMinusZ : -expm1(B * logOneMinusZ) / B;
	const value = C * (firstPart - exp(B * logOneMinusZ) * G) * alive;
	if (!isFiniteNumber(value)) {
		throw new RangeError(`the expected purchases are not finite for r=${r}, α=${alpha}, a=${a}, b=${b}, x=${h.x}, t=${t}`);
	}
	return max(0, value);
}

/**
 * E[X(t)]: the expected repeat purchases in the first t after a new customer's first one (FHL eq. 9),
 * (a+b−1)/(a−1) · [1 − (α/(α+t))^r · 2F1(r, b; a+b−1; t/(α+t))]: eq. 10 with x = tx = T = 0.
 */
export function expectedPurchasesNew(params: BgNbdParameters, t: number): number {
	return expectedPurchases(params, t, { x: 0, tx: 0, T: 0 });
}
