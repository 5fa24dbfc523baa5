/**
 * The numerics the predictive models need, in plain TypeScript: the log-gamma function, the
 * Gaussian hypergeometric function 2F1 on [0, 1), and a Nelder–Mead minimiser.
 */

/** Math's functions as module bindings: a global lookup per call is slow in some hosts (jest's vm contexts: about 20 times). */
const { PI, abs, ceil, exp, log, log1p, max, min, pow, sin } = Math;
const isFiniteNumber = Number.isFinite;

/** Lanczos coefficients, g = 7, n = 9 (as in Numerical Recipes 3rd ed. and Boost): about 15 digits. */
const LANCZOS_G = 7;
const LANCZOS = [
	0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
	12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LOG_TWO_PI = 0.5 * log(2 * PI);

/** ln Γ(x) for x > 0 (Lanczos approximation); the reflection formula below 0.5. */
export function logGamma(x: number): number {
	if (!isFiniteNumber(x)) return x === Infinity ? Infinity : NaN;
	if (x < 0.5) {
		// Γ(x)Γ(1 − x) = π / sin(πx); only used for 0 < x < 0.5 here, where sin(πx) > 0.
		return log(PI / abs(sin(PI * x))) - logGamma(1 - x);
	}
	const z = x - 1;
	let sum = LANCZOS[0];
	for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (z + i);
	const t = z + LANCZOS_G + 0.5;
	return HALF_LOG_TWO_PI + (z + 0.5) * log(t) - t + log(sum);
}

export interface SeriesResult {
	value: number;
	terms: number;
}

const SERIES_MAX_TERMS = 1_000_000;

/**
 * Σ_{n≥1} Π_{k<n} ratio(k) · first: the tail of a hypergeometric-type series whose n-th term is the
 * previous one times `(p + k)(q + k) / ((c + k)(k + 1)) · z`, starting from `first` (the n = 1 term)
 * and k = 1. Stops when a term no longer changes the sum; if the cap is reached, the remainder is
 * estimated as a geometric tail (terms then shrink by about z each).
 */
function seriesTail(first: number, p: number, q: number, c: number, z: number): SeriesResult {
	let term = first;
	let sum = first;
	let n = 1;
	for (; n < SERIES_MAX_TERMS; n++) {
		term *= ((p + n) * (q + n)) / ((c + n) * (n + 1)) * z;
		sum += term;
		if (abs(term) <= 1e-17 * abs(sum) && n > 2) return { value: sum, terms: n + 1 };
		if (term === 0) return { value: sum, terms: n + 1 };
	}
	const ratio = ((p + n) * (q + n)) / ((c + n) * (n + 1)) * z;
	return { value: sum + (term * ratio) / (1 - ratio), terms: n + 1 };
}

/**
 * The Gaussian hypergeometric function 2F1(a, b; c; z) for 0 ≤ z < 1 (and c > 0):
 * Σ (a)_n (b)_n / ((c)_n n!) zⁿ. When the direct series has large parameters (its terms first grow
 * like n^(a+b−c−1) before z^n wins, as for BG/NBD customers with many orders), Euler's transformation
 * 2F1(a, b; c; z) = (1 − z)^(c−a−b) · 2F1(c − a, c − b; c; z) gives a series with small parameters
 * that converges at once (the one lifetimes falls back to; DLMF 15.8.1). Negative z goes through
 * Pfaff's transformation 2F1(a, b; c; z) = (1 − z)^(−a) · 2F1(a, c − b; c; z/(z − 1)).
 */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
	if (!(z < 1) || !isFiniteNumber(z)) throw new RangeError(`hyp2f1 needs z < 1, got ${z}`);
	if (!(c > 0)) throw new RangeError(`hyp2f1 needs c > 0, got ${c}`);
	if (z === 0) return 1;
	if (z < 0) return pow(1 - z, -a) * hyp2f1(a, c - b, c, z / (z - 1));
	const directSize = abs(a * b);
	const eulerSize = abs((c - a) * (c - b));
	if (eulerSize < directSize) {
		const tail = seriesTail(((c - a) * (c - b)) / c * z, c - a, c - b, c, z);
		return exp((c - a - b) * log1p(-z)) * (1 + tail.value);
	}
	return 1 + seriesTail((a * b) / c * z, a, b, c, z).value;
}

/**
 * G(A, B; C; z) = (2F1(A, B; C; z) − 1) / B, summed without the factor B so that it stays exact as
 * B → 0: Σ_{n≥1} (A)_n (B + 1)_{n−1} / ((C)_n n!) zⁿ. The BG/NBD conditional expectation needs it
 * with B = a − 1, which is often close to 0.
 */
export function hyp2f1MinusOneOverB(A: number, B: number, C: number, z: number): number {
	if (z === 0) return 0;
	// Term n+1 / term n = (A + n)(B + n) / ((C + n)(n + 1)) · z for n ≥ 1, the same recurrence.
	return seriesTail((A / C) * z, A, B, C, z).value;
}

export interface MinimiseOptions {
	/** Initial simplex edge along each coordinate. */
	step?: number;
	/** Stop when the spread of the simplex's values is below this (absolute, plus relative to |f|). */
	tolerance?: number;
	/** Stop when the simplex is smaller than this along every coordinate. */
	xTolerance?: number;
	maxEvaluations?: number;
}

export interface MinimiseResult {
	x: number[];
	value: number;
	evaluations: number;
	iterations: number;
	converged: boolean;
}

/**
 * Nelder–Mead simplex minimisation with the dimension-adapted coefficients of Gao and Han (2012,
 * "Implementing the Nelder-Mead simplex algorithm with adaptive parameters"). Non-finite values count
 * as +Infinity, so the simplex walks away from them.
 */
export function nelderMead(f: (x: number[]) => number, start: number[], options: MinimiseOptions = {}): MinimiseResult {
	const n = start.length;
	const step = options.step ?? 0.5;
	const ftol = options.tolerance ?? 1e-11;
	const xtol = options.xTolerance ?? 1e-9;
	const maxEvaluations = options.maxEvaluations ?? 4000;
	const alpha = 1;
	const beta = 1 + 2 / n;
	const gamma = 0.75 - 1 / (2 * n);
	const delta = 1 - 1 / n;
	let evaluations = 0;
	const value = (x: number[]) => {
		evaluations++;
		const v = f(x);
		return isFiniteNumber(v) ? v : Infinity;
	};
	const points: number[][] = [start.slice()];
	for (let i = 0; i < n; i++) {
		const p = start.slice();
		p[i] += step;
		points.push(p);
	}
	const values = points.map(value);
	let iterations = 0;
	let converged = false;
	const combine = (centroid: number[], worst: number[], t: number) => centroid.map((c, i) => c + t * (c - worst[i]));
	while (evaluations < maxEvaluations) {
		const order = values.map((_, i) => i).sort((i, j) => values[i] - values[j]);
		const sortedPoints = order.map((i) => points[i]);
		const sortedValues = order.map((i) => values[i]);
		for (let i = 0; i <= n; i++) {
			points[i] = sortedPoints[i];
			values[i] = sortedValues[i];
		}
		const best = values[0];
		const worstValue = values[n];
		let size = 0;
		for (let i = 1; i <= n; i++) for (let j = 0; j < n; j++) size = max(size, abs(points[i][j] - points[0][j]));
		if (isFiniteNumber(worstValue) && worstValue - best <= ftol * (1 + abs(best)) && size <= xtol) {
			converged = true;
			break;
		}
		iterations++;
		const centroid = new Array<number>(n).fill(0);
		for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j] += points[i][j] / n;
		const worst = points[n];
		const reflected = combine(centroid, worst, alpha);
		const fr = value(reflected);
		if (fr < values[0]) {
			const expanded = combine(centroid, worst, alpha * beta);
			const fe = value(expanded);
			if (fe < fr) {
				points[n] = expanded;
				values[n] = fe;
			} else {
				points[n] = reflected;
				values[n] = fr;
			}
			continue;
		}
		if (fr < values[n - 1]) {
			points[n] = reflected;
			values[n] = fr;
			continue;
		}
		const outside = fr < values[n];
		const contracted = combine(centroid, worst, outside ? alpha * gamma : -gamma);
		const fc = value(contracted);
		if (fc < (outside ? fr : values[n])) {
			points[n] = contracted;
			values[n] = fc;
			continue;
		}
		for (let i = 1; i <= n; i++) {
			points[i] = points[i].map((x, j) => points[0][j] + delta * (x - points[0][j]));
			values[i] = value(points[i]);
		}
	}
	let bestIndex = 0;
	for (let i = 1; i <= n; i++) if (values[i] < values[bestIndex]) bestIndex = i;
	return { x: points[bestIndex], value: values[bestIndex], evaluations, iterations, converged };
}

/**
 * Nelder–Mead from each start, each restarted from its own best point until a restart no longer
 * improves (a simplex can collapse before the minimum; restarting is the usual cure), keeping the
 * best. Reports the total iterations, and converged when the best run ended on its tolerances.
 */
export function minimise(f: (x: number[]) => number, starts: number[][], options: MinimiseOptions & { restarts?: number } = {}): MinimiseResult {
	let best: MinimiseResult | undefined;
	let iterations = 0;
	let evaluations = 0;
	for (const start of starts) {
		let run = nelderMead(f, start, options);
		iterations += run.iterations;
		evaluations += run.evaluations;
		for (let restart = 0; restart < (options.restarts ?? 6); restart++) {
			const again = nelderMead(f, run.x, { ...options, step: min(options.step ?? 0.5, 0.1) });
			iterations += again.iterations;
			evaluations += again.evaluations;
			const improved = run.value - again.value > (options.tolerance ?? 1e-11) * (1 + abs(run.value));
			if (again.value <= run.value) run = again;
			if (!improved) break;
		}
		if (!best || run.value < best.value) best = run;
	}
	if (!best) throw new RangeError('minimise needs at least one start');
	return { ...best, iterations, evaluations };
}

/** The index of the coordinate farthest from 0 (the parameter running off, when a fit on log-parameters fails). */
export function farthest(logs: readonly number[]): number {
	let at = 0;
	for (let i = 1; i < logs.length; i++) if (!(abs(logs[i]) <= abs(logs[at]))) at = i;
	return at;
}

/** Above twice this many customers, a fit first searches on an even sample of this size. */
export const WARM_START_SAMPLE = 20_000;

/** Every k-th item, about `size` of them. */
export function evenSample<T>(items: readonly T[], size: number): T[] {
	const stride = max(1, ceil(items.length / size));
	const out: T[] = [];
	for (let i = 0; i < items.length; i += stride) out.push(items[i]);
	return out;
}

/**
 * `minimise` from the starts, or, given an objective on a sample, from the sample's optimum with a
 * small simplex (falling back to the starts on the whole data when the sample's search fails or
 * the warm-started one does not converge). Iterations count both searches.
 */
export function warmStarted(
	objective: (x: number[]) => number,
	sampleObjective: ((x: number[]) => number) | undefined,
	starts: number[][],
	logLimit: number,
): MinimiseResult {
	if (sampleObjective) {
		const warm = minimise(sampleObjective, starts);
		const usable = isFiniteNumber(warm.value) && warm.converged && warm.x.every((l) => abs(l) < logLimit);
		if (usable) {
			// Close to the optimum already: a small simplex, and a position to 1e-7 in the log-parameters
			// (far below the sampling error of the tens of thousands of customers this path serves).
			const full = minimise(objective, [warm.x], { step: 0.05, xTolerance: 1e-7 });
			if (full.converged) return { ...full, iterations: warm.iterations + full.iterations, evaluations: warm.evaluations + full.evaluations };
		}
	}
	return minimise(objective, starts);
}
