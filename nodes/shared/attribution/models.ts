/**
 * Attribution models: how one conversion's credit is split over the touches before it. Every
 * function gives one share a touch, and the shares of a path sum to 1. The README's Attribution
 * Log section gives the formulas.
 */

export interface Touch {
	/** Milliseconds since the epoch. */
	at: number;
	channel: string;
	campaign: string | null;
	/** A click (a visit from a link or an ad) or a view (an email sent or opened, an ad seen). */
	interaction: 'click' | 'view';
}

export const DIRECT = 'Direct';

export const MODELS = ['firstTouch', 'lastTouch', 'lastNonDirect', 'linear', 'positionBased', 'timeDecay', 'markov'] as const;
export type ModelName = (typeof MODELS)[number];

export const MODEL_LABELS: Record<ModelName, string> = {
	firstTouch: 'First touch',
	lastTouch: 'Last touch',
	lastNonDirect: 'Last non-direct',
	linear: 'Linear',
	positionBased: 'Position-based',
	timeDecay: 'Time decay',
	markov: 'Markov (data-driven)',
};

export interface ModelOptions {
	/** Time decay: the touch this long before the conversion counts half as much as one at it. */
	halfLifeMs: number;
	/** Markov: each channel's removal effect, from `fitMarkov()`. */
	removalEffects?: ReadonlyMap<string, number>;
}

/** Everything on the touch at `index`. */
function oneTouch(n: number, index: number): number[] {
	const shares = new Array<number>(n).fill(0);
	shares[index] = 1;
	return shares;
}

/**
 * Each touch's share of the conversion under `model`. The path is in time order (touches at the
 * same time keep their given order) and holds only the touches inside the windows; it is never
 * empty (a conversion without touches is credited to a direct touch, see `pathOf`).
 */
export function shares(model: ModelName, path: readonly Touch[], conversionAt: number, options: ModelOptions): number[] {
	const n = path.length;
	if (n === 0) throw new Error('a path has at least one touch');
	switch (model) {
		case 'firstTouch':
			return oneTouch(n, 0);
		case 'lastTouch':
			return oneTouch(n, n - 1);
		case 'lastNonDirect': {
			let index = n - 1;
			while (index > 0 && path[index].channel === DIRECT) index--;
			// All direct: the last touch keeps it.
			return oneTouch(n, path[index].channel === DIRECT ? n - 1 : index);
		}
		case 'linear':
			return new Array<number>(n).fill(1 / n);
		case 'positionBased':
			if (n === 1) return [1];
			if (n === 2) return [0.5, 0.5];
			return path.map((_, i) => (i === 0 || i === n - 1 ? 0.4 : 0.2 / (n - 2)));
		case 'timeDecay': {
			// Δt from the newest touch rather than from the conversion: the shares are the same, and
			// the newest weight is 1, so old paths and short half-lives never underflow to 0/0.
			const ages = path.map((t) => Math.max(0, conversionAt - t.at));
			const newest = Math.min(...ages);
			return normalised(ages.map((age) => 2 ** (-(age - newest) / options.halfLifeMs)));
		}
		case 'markov': {
			const effects = options.removalEffects;
			if (!effects) throw new Error('the Markov model needs the removal effects of the channels');
			// A channel's share goes in equal parts to its touches on the path.
			const touchesOf = new Map<string, number>();
			for (const t of path) touchesOf.set(t.channel, (touchesOf.get(t.channel) ?? 0) + 1);
			const weights = path.map((t) => (effects.get(t.channel) ?? 0) / (touchesOf.get(t.channel) ?? 1));
			// No channel on the path has an effect (all were never seen converting): linear.
			return weights.some((w) => w > 0) ? normalised(weights) : new Array<number>(n).fill(1 / n);
		}
	}
}

function normalised(weights: number[]): number[] {
	const total = weights.reduce((sum, w) => sum + w, 0);
	return weights.map((w) => w / total);
}
