/**
 * Dated orders drawn from the BG/NBD and Gamma-Gamma models, for the tests that write them to the
 * store as a shop would (predictive.ts draws the histories themselves, for the models' own tests).
 */
import type { BgNbdParameters, GammaGammaParameters } from '../../nodes/shared/predictive/model.ts';
import { gammaVariate, seededRandom } from './predictive.ts';

const DAY = 86_400_000;

export interface SimulatedOrder {
	id: string;
	at: number;
	revenue: number;
}

/** Shoppers in days: an order every month or two while active, a third of them stop after a repeat order; baskets around 45. */
export const RETAIL: { bg: BgNbdParameters; gg: GammaGammaParameters } = { bg: { r: 0.9, alpha: 45, a: 0.7, b: 1.6 }, gg: { p: 6, q: 4, gamma: 30 } };

/**
 * `count` customers whose first orders fall over the `days` before `now`, each then buying and
 * dropping out as the models say; keyed `${prefix}${i}`, orders oldest first.
 */
export function simulateOrders(count: number, now: number, options: { days?: number; seed?: number; prefix?: string } = {}): Map<string, SimulatedOrder[]> {
	const { days = 365, seed = 42, prefix = 'c-' } = options;
	const { bg, gg } = RETAIL;
	const random = seededRandom(seed);
	const customers = new Map<string, SimulatedOrder[]>();
	for (let i = 0; i < count; i++) {
		const rate = gammaVariate(random, bg.r, bg.alpha);
		const x1 = gammaVariate(random, bg.a, 1);
		const dropout = x1 / (x1 + gammaVariate(random, bg.b, 1));
		const nu = gammaVariate(random, gg.q, gg.gamma);
		const orders: SimulatedOrder[] = [];
		let at = now - random() * days * DAY;
		while (at <= now) {
			orders.push({ id: `${prefix}${i}-o${orders.length}`, at: Math.round(at), revenue: Math.round(gammaVariate(random, gg.p, nu) * 100) / 100 });
			// A customer may drop out after each repeat purchase, not after the first.
			if (orders.length > 1 && random() < dropout) break;
			at += (-Math.log(1 - random()) / rate) * DAY;
		}
		customers.set(`${prefix}${i}`, orders);
	}
	return customers;
}
