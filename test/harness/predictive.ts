/**
 * Customers drawn from the BG/NBD process (Fader, Hardie and Lee 2005) and the Gamma-Gamma spend
 * model with known parameters, deterministic from a seed: for the predictive unit tests and the
 * bench (and any test that needs a believable order history).
 *
 * Each customer: λ ~ Gamma(r, rate α), p ~ Beta(a, b); repeat purchases at Poisson rate λ after the
 * first (at time 0), and after each repeat purchase they drop out with probability p (as lifetimes'
 * `beta_geometric_nbd_model` draws them). Spend: ν ~ Gamma(q, rate γ), each order's value
 * ~ Gamma(p, rate ν); `mx` is the mean of the repeat orders' values.
 */
import type { BgNbdParameters, GammaGammaParameters, PurchaseHistory, SpendHistory } from '../../nodes/shared/predictive/model.ts';

/** Mulberry32: a small seeded generator of uniforms in [0, 1). */
export function seededRandom(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function normal(random: () => number): number {
	const u = 1 - random();
	return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Gamma(shape, rate) by Marsaglia and Tsang (2000), boosted for shape < 1. */
export function gammaVariate(random: () => number, shape: number, rate: number): number {
	if (shape < 1) return gammaVariate(random, shape + 1, rate) * Math.pow(1 - random(), 1 / shape);
	const d = shape - 1 / 3;
	const c = 1 / Math.sqrt(9 * d);
	for (;;) {
		let x: number;
		let v: number;
		do {
			x = normal(random);
			v = 1 + c * x;
		} while (v <= 0);
		v = v * v * v;
		const u = 1 - random();
		if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return (d * v) / rate;
	}
}

export interface SimulatedCustomer {
	history: PurchaseHistory;
	spend: SpendHistory;
	/** Still active at T (the truth the model estimates). */
	alive: boolean;
}

export interface SimulationOptions {
	customers: number;
	bg: BgNbdParameters;
	gg?: GammaGammaParameters;
	/** Each customer's T is uniform in [minT, maxT]. */
	minT: number;
	maxT: number;
	seed?: number;
	/** Round tx and T to whole units (as whole days would be). */
	wholeUnits?: boolean;
}

export function simulateCustomers(options: SimulationOptions): SimulatedCustomer[] {
	const random = seededRandom(options.seed ?? 1);
	const { r, alpha, a, b } = options.bg;
	const gg = options.gg ?? { p: 6, q: 4, gamma: 15 };
	const out: SimulatedCustomer[] = [];
	for (let i = 0; i < options.customers; i++) {
		let T = options.minT + (options.maxT - options.minT) * random();
		const lambda = gammaVariate(random, r, alpha);
		const x1 = gammaVariate(random, a, 1);
		const dropout = x1 / (x1 + gammaVariate(random, b, 1));
		const nu = gammaVariate(random, gg.q, gg.gamma);
		let t = 0;
		let x = 0;
		let tx = 0;
		let total = 0;
		let alive = true;
		for (;;) {
			t += -Math.log(1 - random()) / lambda;
			if (!(t <= T)) break;
			x++;
			tx = t;
			total += gammaVariate(random, gg.p, nu);
			if (random() < dropout) {
				alive = false;
				break;
			}
		}
		if (options.wholeUnits) {
			T = Math.round(T);
			tx = Math.min(T, Math.round(tx));
		}
		out.push({ history: { x, tx, T }, spend: { x, mx: x > 0 ? total / x : 0 }, alive });
	}
	return out;
}
