/**
 * The first-order Markov ("data-driven") model: the journeys of all people, converted or not, make
 * a chain from Start through the channels to Conversion or Null. A channel's removal effect is the
 * share of conversions lost when it is taken out (every move into it ends in Null):
 * RE(c) = 1 − P(conversion without c) / P(conversion).
 */

export interface Journey {
	/** The channels in time order (repeats allowed: a stay in a channel does not change the chain's outcome). */
	channels: readonly string[];
	converted: boolean;
}

export interface MarkovFit {
	/** P(conversion) from Start. */
	conversionProbability: number;
	removalEffects: Map<string, number>;
}

/** Transition counts: from Start (START) and each channel (its index) to each channel, Conversion and Null. */
interface Chain {
	channels: string[];
	counts: Map<number, Map<number | 'conversion' | 'null', number>>;
}

const START = -1;

function chainOf(journeys: Iterable<Journey>): Chain {
	const index = new Map<string, number>();
	const channels: string[] = [];
	const counts: Chain['counts'] = new Map();
	const add = (from: number, to: number | 'conversion' | 'null') => {
		let row = counts.get(from);
		if (!row) counts.set(from, (row = new Map()));
		row.set(to, (row.get(to) ?? 0) + 1);
	};
	for (const journey of journeys) {
		if (journey.channels.length === 0) continue;
		let from = START;
		for (const channel of journey.channels) {
			let to = index.get(channel);
			if (to === undefined) {
				to = channels.length;
				index.set(channel, to);
				channels.push(channel);
			}
			if (to !== from) add(from, to);
			from = to;
		}
		add(from, journey.converted ? 'conversion' : 'null');
	}
	return { channels, counts };
}

/**
 * P(conversion) from Start, with the channels in `removed` turned into Null. Solves
 * (I − Q) p = r for the channels' conversion probabilities by Gaussian elimination (the channels
 * are few), then weighs them by Start's moves.
 */
function conversionProbability(chain: Chain, removed: number | undefined): number {
	const n = chain.channels.length;
	const a = Array.from({ length: n }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === j ? 1 : 0)));
	for (let i = 0; i < n; i++) {
		if (i === removed) continue;
		const row = chain.counts.get(i);
		const total = row ? [...row.values()].reduce((s, c) => s + c, 0) : 0;
		for (const [to, count] of row ?? []) {
			if (to === 'conversion') a[i][n] += count / total;
			else if (to !== 'null' && to !== removed) a[i][to] -= count / total;
		}
	}
	for (let col = 0; col < n; col++) {
		let pivot = col;
		for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
		[a[col], a[pivot]] = [a[pivot], a[col]];
		const lead = a[col][col];
		if (Math.abs(lead) < 1e-15) continue;
		for (let j = col; j <= n; j++) a[col][j] /= lead;
		for (let r = 0; r < n; r++) {
			if (r === col || a[r][col] === 0) continue;
			const factor = a[r][col];
			for (let j = col; j <= n; j++) a[r][j] -= factor * a[col][j];
		}
	}
	const start = chain.counts.get(START);
	if (!start) return 0;
	const total = [...start.values()].reduce((s, c) => s + c, 0);
	let p = 0;
	for (const [to, count] of start) if (typeof to === 'number' && to !== removed) p += (count / total) * a[to][n];
	return p;
}

/** Fits the chain to the journeys and gives each channel's removal effect (0 when nothing converts). */
export function fitMarkov(journeys: Iterable<Journey>): MarkovFit {
	const chain = chainOf(journeys);
	const base = conversionProbability(chain, undefined);
	const removalEffects = new Map<string, number>();
	chain.channels.forEach((channel, i) => {
		removalEffects.set(channel, base > 0 ? Math.max(0, 1 - conversionProbability(chain, i) / base) : 0);
	});
	return { conversionProbability: base, removalEffects };
}
