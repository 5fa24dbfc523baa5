import type { StoredProduct } from '../catalogue/product';
import type { Kind, Neighbour } from './cooccurrence';

/** How the products are chosen. */
export const STRATEGIES = ['forThisPerson', 'itemToItem', 'recentlyViewed', 'popular', 'trending'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** Which co-occurrence item-to-item reads: viewed together, bought together, or both. */
export type Signal = Kind | 'both';

/** With both signals, being bought together counts twice as much as being viewed together. */
export const SIGNAL_WEIGHTS: Record<Signal, Partial<Record<Kind, number>>> = {
	viewed: { viewed: 1 },
	bought: { bought: 1 },
	both: { bought: 1, viewed: 0.5 },
};

export interface RecommendationSettings {
	strategy: Strategy;
	signal: Signal;
	count: number;
	/** Only products of this category (or below it in the "A > B" path), when set. */
	category?: string;
	/** What makes a product popular or trending: being bought, or being viewed. */
	popularFrom: Kind;
	/** Popular: over the last this many days. */
	popularDays: number;
	/** Trending: the last this many days, against the `baselineDays` before them. */
	trendingDays: number;
	baselineDays: number;
	/** When the strategy finds fewer than `count` products, the popular ones fill the rest. */
	fillWithPopular: boolean;
}

/** A recommended product, in the fields ESP Send's product table and cart lines use. */
export interface RecommendedProduct {
	productId: string;
	name: string;
	url: string | null;
	imageUrl: string;
	/** The sale price while there is one, else the price. */
	price: number | null;
	currency: string | null;
	/** The strategy that found it: the one asked for, or popular when it filled the list. */
	strategy: Strategy;
}

/** For this person: how many of their latest products lead to neighbours, and how fast their weight falls (each one back counts 0.8 of the next). */
const RECENT_SOURCES = 20;
const RECENCY_DECAY = 0.8;

/** Weights of a person's products, most recent first. */
export function recencyWeights<T>(mostRecentFirst: readonly T[]): Array<{ item: T; weight: number }> {
	return mostRecentFirst.slice(0, RECENT_SOURCES).map((item, rank) => ({ item, weight: RECENCY_DECAY ** rank }));
}

/** Adds a kind's neighbour lists, weighted, into one list per source product. */
export function combineSignals(byKind: ReadonlyArray<{ weight: number; neighbours: ReadonlyMap<string, readonly Neighbour[]> }>): Map<string, Neighbour[]> {
	const scores = new Map<string, Map<string, number>>();
	for (const { weight, neighbours } of byKind) {
		for (const [source, list] of neighbours) {
			const into = scores.get(source) ?? new Map<string, number>();
			for (const n of list) into.set(n.productId, (into.get(n.productId) ?? 0) + weight * n.score);
			scores.set(source, into);
		}
	}
	return new Map([...scores].map(([source, into]) => [source, [...into].map(([productId, score]) => ({ productId, score }))]));
}

/** Product IDs by score, highest first; equal scores in ID order, so that results are repeatable. */
export function ranked(scores: ReadonlyMap<string, number>): string[] {
	return [...scores].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([id]) => id);
}

/** Smoothing of trending: a product needs a few more recent events than expected to rank, not just one. */
const TREND_PRIOR = 5;

/**
 * How much more a product was viewed (or bought) lately than its baseline predicts: recent events
 * against the baseline's events scaled to the recent window's length, both with a prior of 5.
 */
export function trendScore(recent: number, baseline: number, recentDays: number, baselineDays: number): number {
	return (recent + TREND_PRIOR) / ((baseline * recentDays) / baselineDays + TREND_PRIOR);
}

/** The category path or Google category equals `category` or lies below it ("Apparel" takes "Apparel > Shoes"); case does not matter. */
export function inCategory(product: Pick<StoredProduct, 'googleProductCategory' | 'productType'>, category: string): boolean {
	const wanted = category.trim().toLowerCase();
	return [product.productType, product.googleProductCategory].some((path) => {
		const value = path?.trim().toLowerCase();
		return !!value && (value === wanted || value.startsWith(`${wanted} >`));
	});
}

/**
 * Whether a product may be shown: in stock (a product known only from events, whose availability
 * nobody stated, counts as in stock), still in the feed, with an image, and in the category when one
 * is asked for.
 */
export function showable(product: StoredProduct, category?: string): boolean {
	if (product.missingSince !== null || !product.imageLink) return false;
	if (product.availability !== null && product.availability !== 'in_stock') return false;
	return !category || inCategory(product, category);
}

/**
 * The first `count` showable products of the candidate lists, in order, none excluded and none
 * twice; each tagged with the strategy of the list it came from.
 */
export function pick(
	lists: ReadonlyArray<{ strategy: Strategy; ids: readonly string[] }>,
	products: ReadonlyMap<string, StoredProduct | undefined>,
	excluded: ReadonlySet<string>,
	count: number,
	category?: string,
): RecommendedProduct[] {
	const chosen: RecommendedProduct[] = [];
	const taken = new Set(excluded);
	for (const { strategy, ids } of lists) {
		for (const id of ids) {
			if (chosen.length >= count) return chosen;
			const product = products.get(id);
			if (taken.has(id) || !product || !showable(product, category)) continue;
			taken.add(id);
			chosen.push({
				productId: product.id,
				name: product.title ?? product.id,
				url: product.link,
				imageUrl: product.imageLink!,
				price: product.salePrice ?? product.price,
				currency: product.currency,
				strategy,
			});
		}
	}
	return chosen;
}
