import type { Product } from '../../nodes/shared/catalogue/product.ts';
import { parseEvent, type TrackedEvent } from '../../nodes/shared/events/model.ts';
import type { RecommendationSettings } from '../../nodes/shared/recommendations/rank.ts';
import { importProducts } from '../../nodes/shared/store/products.ts';
import { type RecommendationRequest, recommendationPages, refreshRecommendations, SETTLE_MS } from '../../nodes/shared/store/recommendations.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

const T0 = Date.parse('2026-11-01T08:00:00.000Z');
const MINUTE = 60_000;
const REC_TABLES = ['rt_rec_person_items', 'rt_rec_item_counts', 'rt_rec_pairs', 'rt_rec_daily'];

let sequence = 0;

/** A valid event at minute `minute` after T0, received then. */
function at(minute: number, raw: Record<string, unknown>): TrackedEvent {
	const iso = new Date(T0 + minute * MINUTE).toISOString();
	const parsed = parseEvent({ messageId: `rec-${++sequence}`, timestamp: iso, type: 'track', ...raw });
	if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
	return { ...parsed.event, receivedAt: iso };
}

const viewed = (minute: number, userId: string, productId: string) => at(minute, { event: 'Product Viewed', userId, properties: { product_id: productId } });
const ordered = (minute: number, userId: string, ...productIds: string[]) =>
	at(minute, { event: 'Order Completed', userId, properties: { order_id: `o-${userId}-${minute}`, revenue: 10, products: productIds.map((product_id) => ({ product_id, price: 10 })) } });

/**
 * Viewed: u1 p1 p2 p4; u2 p1 p2; u3 p1 p4 p5; u4 p2 p3; u5 p1 p3 p6 p7 p8; buyer p1.
 * Bought: u2 p1 p2; u3 p4; buyer p2. The buyer also has p3 in an open cart.
 */
function shopEvents(): TrackedEvent[] {
	const views: Array<[string, string[]]> = [
		['u1', ['p1', 'p2', 'p4']],
		['u2', ['p1', 'p2']],
		['u3', ['p1', 'p4', 'p5']],
		['u4', ['p2', 'p3']],
		['u5', ['p1', 'p3', 'p6', 'p7', 'p8']],
		['buyer', ['p1']],
	];
	let minute = 0;
	const events = views.flatMap(([user, products]) => products.map((p) => viewed(++minute, user, p)));
	events.push(
		ordered(++minute, 'u2', 'p1', 'p2'),
		ordered(++minute, 'u3', 'p4'),
		ordered(++minute, 'buyer', 'p2'),
		at(++minute, { event: 'Product Added', userId: 'buyer', properties: { cart_id: 'c-buyer', product_id: 'p3', price: 10, quantity: 1 } }),
	);
	return events;
}

/** p6 out of stock, p7 without an image, p8 in Home; the others in Apparel. */
function feed(): Product[] {
	return Array.from({ length: 8 }, (_, i) => {
		const id = `p${i + 1}`;
		return {
			id,
			title: `Product ${i + 1}`,
			description: null,
			link: `https://shop.example/${id}`,
			imageLink: id === 'p7' ? null : `https://shop.example/${id}.jpg`,
			price: 10 + i,
			salePrice: null,
			currency: 'EUR',
			availability: id === 'p6' ? 'out_of_stock' : 'in_stock',
			brand: null,
			googleProductCategory: null,
			productType: id === 'p8' ? 'Home' : 'Apparel',
			itemGroupId: null,
			customLabels: {},
		};
	});
}

const SETTINGS: RecommendationSettings = {
	strategy: 'itemToItem',
	signal: 'viewed',
	count: 10,
	popularFrom: 'bought',
	popularDays: 90,
	trendingDays: 7,
	baselineDays: 28,
	fillWithPopular: false,
};

/** Refreshed "now": a day after the shop's events, which are then all settled. */
const NOW = new Date(T0 + 24 * 60 * MINUTE);

async function recommend(store: RetargetingStore, requests: RecommendationRequest[], settings: Partial<RecommendationSettings>): Promise<string[][]> {
	const answers: string[][] = [];
	for await (const page of recommendationPages(store.driver, requests, { ...SETTINGS, ...settings }, NOW)) answers.push(...page.map((list) => list.map((p) => p.productId)));
	return answers;
}

async function profileIdOf(store: RetargetingStore, userId: string): Promise<string> {
	const profile = await store.findProfile({ userId });
	if (!profile) throw new Error(`no profile for ${userId}`);
	return profile.id;
}

/** Every row of the recommendation tables, in a fixed order. */
async function tables(store: RetargetingStore): Promise<Record<string, string[]>> {
	const all: Record<string, string[]> = {};
	for (const table of REC_TABLES) all[table] = (await store.driver.all(`SELECT * FROM ${table}`)).map((row) => JSON.stringify(row)).sort();
	return all;
}

describe.each(BACKENDS)('recommendations on %s', (_name, fixture) => {
	let f: StoreFixture;
	let store: RetargetingStore;

	beforeEach(async () => {
		f = fixture();
		store = await f.open();
		await store.migrate();
		await importProducts(store.driver, feed(), { full: true, at: new Date(T0) });
	});

	afterEach(async () => {
		await f.dispose();
	});

	it('refreshes incrementally to the same tables as one full build, and reads only what is new', async () => {
		const events = shopEvents();
		const half = Math.floor(events.length / 2);
		await store.appendEvents(events.slice(0, half));
		// Events of the last minute wait: the first refresh sees exactly the first half.
		const first = await refreshRecommendations(store.driver, new Date(T0 + half * MINUTE + SETTLE_MS));
		expect(first.events).toBe(half);
		await store.appendEvents(events.slice(half));
		const second = await refreshRecommendations(store.driver, NOW);
		// The cart event is not read; everything else once.
		expect(second.events).toBe(events.length - half - 1);
		expect((await refreshRecommendations(store.driver, NOW)).events).toBe(0);
		const incremental = await tables(store);

		for (const table of [...REC_TABLES, 'rt_rec_state']) await store.driver.run(`DELETE FROM ${table}`);
		// In transactions of 3 events: the batches end between events of one person too.
		const full = await refreshRecommendations(store.driver, NOW, 3);
		expect(full.transactions).toBeGreaterThan(5);
		expect(await tables(store)).toEqual(incremental);

		const count = async (sql: string, params: string[]) => Number((await store.driver.all<{ n: number }>(sql, params))[0]?.n ?? 0);
		// |U_p1| viewed = u1, u2, u3, u5, buyer; p1 and p4 viewed together by u1 and u3.
		expect(await count("SELECT people AS n FROM rt_rec_item_counts WHERE kind = 'viewed' AND product_id = ?", ['p1'])).toBe(5);
		expect(await count("SELECT people AS n FROM rt_rec_pairs WHERE kind = 'viewed' AND product_id = ? AND other_id = ?", ['p1', 'p4'])).toBe(2);
		expect(await count("SELECT people AS n FROM rt_rec_pairs WHERE kind = 'bought' AND product_id = ? AND other_id = ?", ['p2', 'p1'])).toBe(1);
		expect(await count("SELECT SUM(events) AS n FROM rt_rec_daily WHERE kind = 'bought' AND product_id = ?", ['p2'])).toBe(2);
	});

	it('never recommends the sources, what the person bought, their cart, unavailable products or products without an image', async () => {
		await store.appendEvents(shopEvents());
		await refreshRecommendations(store.driver, NOW);
		const buyer = await profileIdOf(store, 'buyer');
		// Neighbours of p1 by co-views: p4 2/√10, p5 and p8 1/√5 (p5 first by ID), then p2 (bought), p3 (in the cart),
		// p6 (out of stock) and p7 (no image), which never show.
		expect(await recommend(store, [{ profileId: buyer, productIds: ['p1'] }], {})).toEqual([['p4', 'p5', 'p8']]);
		// Without a person, only the source and the unavailable products are left out.
		expect(await recommend(store, [{ productIds: ['p1'] }], {})).toEqual([['p4', 'p2', 'p5', 'p8', 'p3']]);
		expect(await recommend(store, [{ profileId: buyer, productIds: ['p1'] }], { category: 'apparel' })).toEqual([['p4', 'p5']]);
		expect(await recommend(store, [{ profileId: buyer, productIds: ['p1'] }], { count: 2 })).toEqual([['p4', 'p5']]);
	});

	it('fills with popular products when the person has no history, and recommends for people in one pass', async () => {
		await store.appendEvents(shopEvents());
		await refreshRecommendations(store.driver, NOW);
		const [buyer, u3] = [await profileIdOf(store, 'buyer'), await profileIdOf(store, 'u3')];
		const settings = { strategy: 'forThisPerson' as const, fillWithPopular: true, count: 3 };
		// Bought over 90 days: p2 twice, p1 and p4 once each (ties by ID).
		const [newcomer, forBuyer, forU3] = await recommend(store, [{ productIds: [] }, { profileId: buyer, productIds: [] }, { profileId: u3, productIds: [] }], settings);
		expect(newcomer).toEqual(['p2', 'p1', 'p4']);
		// The buyer's own products (p1 viewed, p2 bought, p3 in the cart) are the sources and never show.
		expect(forBuyer).not.toEqual(expect.arrayContaining(['p1']));
		expect(forBuyer.filter((p) => ['p1', 'p2', 'p3', 'p6', 'p7'].includes(p))).toEqual([]);
		expect(forBuyer).toHaveLength(3);
		// u3 viewed p1 p4 p5 and bought p4: p2 comes first (co-viewed with p1 by three of the four others).
		expect(forU3[0]).toBe('p2');
		expect(await recommend(store, [{ profileId: u3, productIds: [] }], { strategy: 'recentlyViewed' })).toEqual([['p5', 'p1']]);
		expect(await recommend(store, [{ productIds: [] }], { strategy: 'popular', count: 2 })).toEqual([['p2', 'p1']]);
	});

	it('ranks trending products by their recent views against the baseline', async () => {
		const day = 24 * 60;
		const events = [
			// p1: steady, 2 views a week for four weeks, then 2 this week; p2: none before, 6 this week.
			...Array.from({ length: 10 }, (_, i) => viewed(i * 3 * day, `s${i}`, 'p1')),
			...Array.from({ length: 6 }, (_, i) => viewed(29 * day + i, `n${i}`, 'p2')),
		];
		await store.appendEvents(events);
		const now = new Date(T0 + 31 * day * MINUTE);
		await refreshRecommendations(store.driver, now);
		const answers: string[][] = [];
		for await (const page of recommendationPages(store.driver, [{ productIds: [] }], { ...SETTINGS, strategy: 'trending', popularFrom: 'viewed' }, now)) answers.push(...page.map((l) => l.map((p) => p.productId)));
		expect(answers).toEqual([['p2', 'p1']]);
	});

	it('erases a person’s products and keeps the counts, which name nobody; merges sets', async () => {
		await store.appendEvents(shopEvents());
		await refreshRecommendations(store.driver, NOW);
		const counts = await store.driver.all('SELECT * FROM rt_rec_item_counts ORDER BY kind, product_id');
		const u1 = await profileIdOf(store, 'u1');
		const deleted = await store.eraseProfile({ profileId: u1 });
		expect(deleted?.rt_rec_person_items).toBe(3);
		expect(await store.driver.all('SELECT * FROM rt_rec_person_items WHERE profile_id = ?', [u1])).toEqual([]);
		expect(await store.driver.all('SELECT * FROM rt_rec_item_counts ORDER BY kind, product_id')).toEqual(counts);

		// u2 and the buyer both viewed p1 and bought p2: one row each stays, the earlier time.
		const [u2, buyer] = [await profileIdOf(store, 'u2'), await profileIdOf(store, 'buyer')];
		await store.mergeProfiles({ profileId: u2 }, { profileId: buyer });
		const rows = await store.driver.all<{ kind: string; product_id: string; first_at: string }>(
			'SELECT kind, product_id, first_at FROM rt_rec_person_items WHERE profile_id = ? ORDER BY kind, product_id',
			[u2],
		);
		expect(rows.map((r) => `${r.kind}:${r.product_id}`)).toEqual(['bought:p1', 'bought:p2', 'viewed:p1', 'viewed:p2']);
		expect(rows.find((r) => r.kind === 'viewed' && r.product_id === 'p1')?.first_at).toBe(new Date(T0 + 4 * MINUTE).toISOString());
	});
});
