/**
 * Item-to-item co-occurrence (Linden, Smith and York, 2003) on binary sets: U_i is the set of people
 * who viewed (or bought) product i, and two products are alike by the cosine of their sets,
 * |U_i ∩ U_j| / √(|U_i|·|U_j|).
 */

/** What a person interacted with: which kind of interaction, and the products of it. */
export const KINDS = ['viewed', 'bought'] as const;
export type Kind = (typeof KINDS)[number];

/** A product in a person's set, with when they first viewed (or bought) it. */
export interface PersonItem {
	productId: string;
	at: string;
}

/**
 * How many of a person's most recent products a new one is paired with, plus itself: a person who
 * viewed thousands of products (a crawler, a shop assistant) costs 49 pairs a new product, not
 * thousands, and what someone viewed years apart says less about likeness anyway.
 */
export const PAIR_WINDOW = 50;

function byTime(a: PersonItem, b: PersonItem): number {
	return a.at < b.at ? -1 : a.at > b.at ? 1 : a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0;
}

/**
 * What a person's new products add to the co-occurrence counts: the products not yet in their set
 * (in time order), and the pairs each makes with the `window - 1` products before it in the set.
 * Applied to the same events in one go or in several batches in time order, it gives the same set
 * and the same pairs, which is what makes the refresh incremental.
 */
export function addToSet(existing: readonly PersonItem[], seen: readonly PersonItem[], window = PAIR_WINDOW): { added: PersonItem[]; pairs: Array<[string, string]> } {
	const known = new Set(existing.map((item) => item.productId));
	const first = new Map<string, PersonItem>();
	for (const item of seen) {
		if (known.has(item.productId)) continue;
		const before = first.get(item.productId);
		if (!before || item.at < before.at) first.set(item.productId, item);
	}
	const added = [...first.values()].sort(byTime);
	const set = [...existing].sort(byTime);
	const pairs: Array<[string, string]> = [];
	for (const item of added) {
		for (const other of set.slice(-(window - 1))) pairs.push([item.productId, other.productId]);
		set.push(item);
	}
	return { added, pairs };
}

/** |U_i ∩ U_j| / √(|U_i|·|U_j|); 0 when either set is empty. */
export function cosine(together: number, countA: number, countB: number): number {
	return countA > 0 && countB > 0 ? together / Math.sqrt(countA * countB) : 0;
}

/** A product like another: how much (cosine, or a weighted sum of cosines). */
export interface Neighbour {
	productId: string;
	score: number;
}

/**
 * Candidates from source products: each neighbour scores the sum over the sources of the source's
 * weight times its likeness, so a product near several of them ranks above one near a single one.
 */
export function neighbourScores(sources: ReadonlyArray<{ productId: string; weight: number }>, neighboursOf: ReadonlyMap<string, readonly Neighbour[]>): Map<string, number> {
	const scores = new Map<string, number>();
	for (const source of sources) {
		for (const n of neighboursOf.get(source.productId) ?? []) scores.set(n.productId, (scores.get(n.productId) ?? 0) + source.weight * n.score);
	}
	return scores;
}
