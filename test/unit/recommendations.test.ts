import type { StoredProduct } from '../../nodes/shared/catalogue/product.ts';
import { addToSet, cosine, type Neighbour, neighbourScores, type PersonItem } from '../../nodes/shared/recommendations/cooccurrence.ts';
import { combineSignals, inCategory, pick, ranked, recencyWeights, showable, trendScore } from '../../nodes/shared/recommendations/rank.ts';

const at = (minute: number) => `2026-11-20T10:${String(minute).padStart(2, '0')}:00.000Z`;
const items = (...ids: string[]): PersonItem[] => ids.map((productId, i) => ({ productId, at: at(i) }));

/** People counts per product and per pair (a|b with a < b), as the refresh adds them up. */
function counts(people: PersonItem[][][]): { items: Map<string, number>; pairs: Map<string, number> } {
	const result = { items: new Map<string, number>(), pairs: new Map<string, number>() };
	for (const batches of people) {
		let set: PersonItem[] = [];
		for (const batch of batches) {
			const { added, pairs } = addToSet(set, batch);
			for (const item of added) result.items.set(item.productId, (result.items.get(item.productId) ?? 0) + 1);
			for (const pair of pairs) {
				const key = [...pair].sort().join('|');
				result.pairs.set(key, (result.pairs.get(key) ?? 0) + 1);
			}
			set = [...set, ...added];
		}
	}
	return result;
}

/** Cosine of two products from the counts. */
function cos(c: ReturnType<typeof counts>, a: string, b: string): number {
	return cosine(c.pairs.get([a, b].sort().join('|')) ?? 0, c.items.get(a) ?? 0, c.items.get(b) ?? 0);
}

describe('co-occurrence on binary sets', () => {
	// Viewed: Ann A B C, Bob A B, Cid B C, Dee A D.
	// |U_A| = 3 (Ann, Bob, Dee), |U_B| = 3 (Ann, Bob, Cid), |U_C| = 2 (Ann, Cid), |U_D| = 1 (Dee).
	// Together: A,B = 2 (Ann, Bob); A,C = 1 (Ann); B,C = 2 (Ann, Cid); A,D = 1 (Dee); B,D = C,D = 0.
	const shop = counts([[items('A', 'B', 'C')], [items('A', 'B')], [items('B', 'C')], [items('A', 'D')]]);

	it('counts people per product and per pair', () => {
		expect(Object.fromEntries(shop.items)).toEqual({ A: 3, B: 3, C: 2, D: 1 });
		expect(Object.fromEntries(shop.pairs)).toEqual({ 'A|B': 2, 'A|C': 1, 'B|C': 2, 'A|D': 1 });
	});

	it('gives the cosine of the two sets', () => {
		expect(cos(shop, 'A', 'B')).toBeCloseTo(2 / 3, 10); // 2 / √(3·3)
		expect(cos(shop, 'A', 'C')).toBeCloseTo(0.408248, 6); // 1 / √(3·2)
		expect(cos(shop, 'B', 'C')).toBeCloseTo(0.816497, 6); // 2 / √(3·2)
		expect(cos(shop, 'A', 'D')).toBeCloseTo(0.57735, 5); // 1 / √(3·1)
		expect(cos(shop, 'B', 'D')).toBe(0);
		expect(cosine(0, 0, 3)).toBe(0);
	});

	it('scores neighbours of several sources by weight times cosine', () => {
		const neighbours = new Map<string, Neighbour[]>(
			['A', 'C'].map((source) => [source, ['A', 'B', 'C', 'D'].filter((other) => other !== source).map((productId) => ({ productId, score: cos(shop, source, productId) }))]),
		);
		// From A (weight 1) and C (weight 0.8): B = 2/3 + 0.8 × 0.816497 = 1.319864; D = 0.57735 + 0.8 × 0 = 0.57735;
		// A = 0.8 × 0.408248 = 0.326599; C = 0.408248 (from A).
		const scores = neighbourScores([{ productId: 'A', weight: 1 }, { productId: 'C', weight: 0.8 }], neighbours);
		expect(scores.get('B')).toBeCloseTo(1.319864, 5);
		expect(scores.get('D')).toBeCloseTo(0.57735, 5);
		expect(scores.get('A')).toBeCloseTo(0.326599, 5);
		expect(ranked(scores)).toEqual(['B', 'D', 'C', 'A']);
	});

	it('adds the same whether a person comes in one batch or several, and counts a product once a person', () => {
		const once = counts([[items('A', 'B', 'C', 'D')], [items('B', 'C')]]);
		const twice = counts([[items('A', 'B'), [{ productId: 'C', at: at(2) }, { productId: 'A', at: at(3) }, { productId: 'D', at: at(3) }]], [items('B'), [{ productId: 'C', at: at(5) }]]]);
		expect(twice).toEqual(once);
		expect(once.items.get('A')).toBe(1);
	});

	it('pairs a new product only with the person’s latest products within the window', () => {
		// Window 3: each new product pairs with the 2 before it. D pairs with B and C, not A.
		const { added, pairs } = addToSet([], items('A', 'B', 'C', 'D'), 3);
		expect(added.map((i) => i.productId)).toEqual(['A', 'B', 'C', 'D']);
		expect(pairs).toEqual([['B', 'A'], ['C', 'A'], ['C', 'B'], ['D', 'B'], ['D', 'C']]);
		// Already known products add nothing; a product seen twice in a batch counts from its first time.
		const again = addToSet(items('A', 'B'), [{ productId: 'E', at: at(9) }, { productId: 'A', at: at(8) }, { productId: 'E', at: at(7) }], 3);
		expect(again.added).toEqual([{ productId: 'E', at: at(7) }]);
		expect(again.pairs).toEqual([['E', 'A'], ['E', 'B']]);
	});

	it('adds viewed and bought together with their weights', () => {
		// Both: bought together counts 1, viewed together 0.5. X's neighbour Y: 1 × 0.5 + 0.5 × 0.8 = 0.9.
		const combined = combineSignals([
			{ weight: 1, neighbours: new Map([['X', [{ productId: 'Y', score: 0.5 }]]]) },
			{ weight: 0.5, neighbours: new Map([['X', [{ productId: 'Y', score: 0.8 }, { productId: 'Z', score: 0.2 }]]]) },
		]);
		expect(combined.get('X')).toEqual([
			{ productId: 'Y', score: 0.9 },
			{ productId: 'Z', score: 0.1 },
		]);
	});
});

describe('ranking', () => {
	it('weighs a person’s products by recency', () => {
		expect(recencyWeights(['new', 'older', 'oldest']).map((w) => w.weight)).toEqual([1, 0.8, 0.8 ** 2]);
		expect(recencyWeights(Array.from({ length: 30 }, (_, i) => i))).toHaveLength(20);
	});

	it('scores trending against the baseline scaled to the recent window', () => {
		// 10 in the last 7 days, 8 in the 28 before: expected 8 × 7 / 28 = 2; (10 + 5) / (2 + 5) = 15/7.
		expect(trendScore(10, 8, 7, 28)).toBeCloseTo(15 / 7, 10);
		// One view of a new product does not beat a steady seller that doubled: (1 + 5) / 5 = 1.2 < (40 + 5) / (20 + 5) = 1.8.
		expect(trendScore(1, 0, 7, 28)).toBeLessThan(trendScore(40, 80, 7, 28));
	});

	const product = (id: string, changes: Partial<StoredProduct> = {}): StoredProduct => ({
		id,
		title: `Product ${id}`,
		description: null,
		link: `https://shop.example/${id}`,
		imageLink: `https://shop.example/${id}.jpg`,
		price: 20,
		salePrice: null,
		currency: 'EUR',
		availability: 'in_stock',
		brand: null,
		googleProductCategory: null,
		productType: 'Apparel > Shoes',
		itemGroupId: null,
		customLabels: {},
		source: 'feed',
		feedSeenAt: at(0),
		missingSince: null,
		createdAt: at(0),
		updatedAt: at(0),
		...changes,
	});

	it('shows only products in stock, in the feed, with an image, in the category', () => {
		expect(showable(product('a'))).toBe(true);
		expect(showable(product('a', { availability: 'out_of_stock' }))).toBe(false);
		expect(showable(product('a', { availability: 'preorder' }))).toBe(false);
		expect(showable(product('a', { missingSince: at(1) }))).toBe(false);
		expect(showable(product('a', { imageLink: null }))).toBe(false);
		expect(showable(product('a', { availability: null, source: 'events' }))).toBe(true);
		expect(inCategory(product('a'), 'apparel')).toBe(true);
		expect(inCategory(product('a'), 'Apparel > Shoes')).toBe(true);
		expect(inCategory(product('a'), 'App')).toBe(false);
		expect(inCategory(product('a', { productType: null, googleProductCategory: 'Home & Garden' }), 'Home & Garden')).toBe(true);
	});

	it('picks the first showable products, none excluded or twice, tagged with their list, in ESP Send’s product fields', () => {
		const products = new Map([
			['a', product('a')],
			['b', product('b', { imageLink: null })],
			['c', product('c', { salePrice: 15 })],
			['d', product('d')],
			['e', product('e', { productType: 'Home' })],
		]);
		const lists = [
			{ strategy: 'itemToItem' as const, ids: ['a', 'b', 'x', 'c'] },
			{ strategy: 'popular' as const, ids: ['c', 'a', 'e', 'd'] },
		];
		const chosen = pick(lists, products, new Set(['a']), 3);
		expect(chosen).toEqual([
			{ productId: 'c', name: 'Product c', url: 'https://shop.example/c', imageUrl: 'https://shop.example/c.jpg', price: 15, currency: 'EUR', strategy: 'itemToItem' },
			expect.objectContaining({ productId: 'e', strategy: 'popular' }),
			expect.objectContaining({ productId: 'd', strategy: 'popular' }),
		]);
		expect(pick(lists, products, new Set(), 4, 'Apparel').map((p) => p.productId)).toEqual(['a', 'c', 'd']);
	});
});
