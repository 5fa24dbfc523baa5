/**
 * `npm run bench` (recommendation part): an offline evaluation of the recommendations on a generated
 * shop with planted structure, and their cost, on the embedded store (SQLite).
 *
 * - The shop: BENCH_REC_PRODUCTS products (default 2,000) in groups of 8 that are viewed and bought
 *   together, group and product popularity skewed (Zipf); BENCH_REC_PEOPLE people (default 100,000),
 *   each interested in one or two groups: 85 % of their views in them, the rest anywhere by
 *   popularity; 12 % of views followed by an order of the product and, often, one more of its group.
 *   About BENCH_REC_EVENTS events (default 1,000,000) over 120 days.
 * - Held out: each person's last order, and their views of its products (so that no strategy is
 *   handed the answer by the views just before the purchase). Evaluated: everyone with a held-out
 *   order and at least one product event left. A hit is any held-out product among the 10
 *   recommended; coverage is the share of the catalogue recommended to anyone.
 * - Strategies: item-to-item from the person's latest product (bought or viewed together, no
 *   filling), popular (purchases over 90 days) and for this person (popular filling).
 * - Cost: building the tables from scratch (one Refresh), then a Refresh after a day of new events;
 *   and the Product Catalogue node's Add to Items run by n8n-core in-process on 10,000 people
 *   (test/harness/run-node.ts), in a worker thread as in n8n.
 * BENCH_REC_EVAL=0 skips the evaluation and the node, to time the build alone at a bigger size.
 * Fixture rows are written straight into the tables: the recommendations are measured, not the event path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { INodeExecutionData, INodeType } from 'n8n-workflow';

import type { Product } from '../../nodes/shared/catalogue/product.ts';
import type { RecommendationSettings } from '../../nodes/shared/recommendations/rank.ts';
import type { RecommendationRequest } from '../../nodes/shared/store/recommendations.ts';
import { repoRoot } from '../harness/paths.ts';
import { seededRandom } from '../harness/predictive.ts';
import { runNode } from '../harness/run-node.ts';

const PRODUCTS = Number(process.env.BENCH_REC_PRODUCTS ?? 2000);
const PEOPLE = Number(process.env.BENCH_REC_PEOPLE ?? 100_000);
const EVENTS = Number(process.env.BENCH_REC_EVENTS ?? 1_000_000);
const EVALUATE = process.env.BENCH_REC_EVAL !== '0';
const NODE_PEOPLE = 10_000;
const GROUP = 8;
const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T00:00:00.000Z');

const dir = mkdtempSync(path.join(tmpdir(), 'rt-recommendations-'));
process.env.RETARGETING_SQLITE_FILE = path.join(dir, 'store.sqlite');
const load = createRequire(path.join(repoRoot(), 'package.json'));
const { openEmbeddedStore } = load('./dist/nodes/shared/store/open.js') as typeof import('../../nodes/shared/store/open.ts');
const { insertRows } = load('./dist/nodes/shared/store/sql.js') as typeof import('../../nodes/shared/store/sql.ts');
const { importProducts } = load('./dist/nodes/shared/store/products.js') as typeof import('../../nodes/shared/store/products.ts');
const { recommendationPages, refreshRecommendations } = load('./dist/nodes/shared/store/recommendations.js') as typeof import('../../nodes/shared/store/recommendations.ts');
const { ProductCatalogue } = load('./dist/nodes/ProductCatalogue/ProductCatalogue.node.js') as typeof import('../../nodes/ProductCatalogue/ProductCatalogue.node.ts');

/** Draws an index with probability proportional to 1 / (i + 1)^s. */
function zipf(n: number, s: number): (u: number) => number {
	const cumulative: number[] = [];
	let sum = 0;
	for (let i = 0; i < n; i++) cumulative.push((sum += 1 / (i + 1) ** s));
	return (u) => {
		const target = u * sum;
		let [lo, hi] = [0, n - 1];
		while (lo < hi) {
			const mid = (lo + hi) >> 1;
			if (cumulative[mid] < target) lo = mid + 1;
			else hi = mid;
		}
		return lo;
	};
}

const GROUPS = Math.ceil(PRODUCTS / GROUP);
const pickGroup = zipf(GROUPS, 1);
const pickInGroup = zipf(GROUP, 1);
const productOf = (group: number, k: number) => `sku-${group}-${k}`;

function feed(): Product[] {
	return Array.from({ length: GROUPS * GROUP }, (_, i) => {
		const id = productOf(Math.floor(i / GROUP), i % GROUP);
		return {
			id,
			title: `Product ${id}`,
			description: null,
			link: `https://shop.example/p/${id}`,
			imageLink: `https://shop.example/img/${id}.jpg`,
			price: 10 + (i % 90),
			salePrice: null,
			currency: 'EUR',
			availability: 'in_stock',
			brand: null,
			googleProductCategory: null,
			productType: `Group ${Math.floor(i / GROUP)}`,
			itemGroupId: null,
			customLabels: {},
		};
	});
}

/** One person's events, oldest first: [product IDs, is an order, time]. */
type ShopEvent = { products: string[]; order: boolean; at: number };

function personEvents(rand: () => number, count: number): ShopEvent[] {
	const interests = [pickGroup(rand()), ...(rand() < 0.3 ? [pickGroup(rand())] : [])];
	const events: ShopEvent[] = [];
	let at = NOW - 120 * DAY + rand() * 60 * DAY;
	const step = (60 * DAY) / count;
	while (events.length < count) {
		const group = rand() < 0.85 ? interests[Math.floor(rand() * interests.length)] : pickGroup(rand());
		const k = pickInGroup(rand());
		at += rand() * step;
		events.push({ products: [productOf(group, k)], order: false, at });
		if (events.length < count && rand() < 0.12) {
			const other = (k + 1 + Math.floor(rand() * (GROUP - 1))) % GROUP;
			at += rand() * step;
			events.push({ products: rand() < 0.6 ? [productOf(group, k), productOf(group, other)] : [productOf(group, k)], order: true, at });
		}
	}
	return events;
}

interface Evaluated {
	profileId: string;
	heldOut: Set<string>;
	latest: string;
}

/** Writes the shop; returns the people to evaluate and how many events were written. */
async function fill(store: Awaited<ReturnType<typeof openEmbeddedStore>>): Promise<{ evaluated: Evaluated[]; events: number }> {
	const rand = seededRandom(18);
	const evaluated: Evaluated[] = [];
	const iso = (ms: number) => new Date(ms).toISOString();
	// Holding out the last order (and the views of its products) takes about a fifth of the events away.
	const mean = (1.27 * EVENTS) / PEOPLE;
	let written = 0;
	for (let start = 0; start < PEOPLE; start += 5000) {
		const profiles: Array<Array<string | number | null>> = [];
		const rows: Array<Array<string | number | null>> = [];
		for (let i = start; i < Math.min(PEOPLE, start + 5000); i++) {
			const profileId = `p-${i}`;
			// 1 + geometric: a few very active people, many with a handful of events.
			const count = 1 + Math.floor(Math.log(1 - rand()) / Math.log(1 - 1 / mean));
			let events = personEvents(rand, count);
			const lastOrder = events.map((e) => e.order).lastIndexOf(true);
			if (lastOrder >= 0) {
				const heldOut = new Set(events[lastOrder].products);
				events = events.filter((e, k) => k !== lastOrder && (e.order || !heldOut.has(e.products[0])));
				if (events.length) evaluated.push({ profileId, heldOut, latest: events[events.length - 1].products[0] });
			}
			profiles.push([profileId, `u-${i}`, '{}', '{}', iso(NOW - 200 * DAY), iso(NOW)]);
			events.forEach((e, k) => {
				const body = e.order
					? { properties: { order_id: `o-${i}-${k}`, products: e.products.map((product_id) => ({ product_id })) } }
					: { properties: { product_id: e.products[0] } };
				rows.push([`m-${i}-${k}`, profileId, 'track', e.order ? 'Order Completed' : 'Product Viewed', null, `u-${i}`, iso(e.at), iso(e.at), JSON.stringify(body)]);
			});
		}
		written += rows.length;
		await store.driver.transaction(async (tx) => {
			await insertRows(tx, 'INSERT INTO rt_profiles (id, user_id, traits, consent, first_seen, last_seen)', profiles);
			await insertRows(tx, 'INSERT INTO rt_events (message_id, profile_id, type, event, anonymous_id, user_id, timestamp, received_at, body)', rows);
		});
	}
	await store.driver.exec('ANALYZE');
	return { evaluated, events: written };
}

/** A day of new views (one a person, for a day's share of the people), received in the day before `end`. */
async function newDay(store: Awaited<ReturnType<typeof openEmbeddedStore>>, end: number): Promise<number> {
	const rand = seededRandom(19);
	const rows: Array<Array<string | number | null>> = [];
	for (let k = 0; k < Math.round(EVENTS / 120); k++) {
		const at = new Date(end - DAY + (k * DAY) / (EVENTS / 120)).toISOString();
		const person = Math.floor(rand() * PEOPLE);
		rows.push([`new-${k}`, `p-${person}`, 'track', 'Product Viewed', null, `u-${person}`, at, at, JSON.stringify({ properties: { product_id: productOf(pickGroup(rand()), pickInGroup(rand())) } })]);
	}
	await store.driver.transaction(async (tx) => await insertRows(tx, 'INSERT INTO rt_events (message_id, profile_id, type, event, anonymous_id, user_id, timestamp, received_at, body)', rows));
	return rows.length;
}

const SETTINGS: RecommendationSettings = {
	strategy: 'itemToItem',
	signal: 'both',
	count: 10,
	popularFrom: 'bought',
	popularDays: 90,
	trendingDays: 7,
	baselineDays: 28,
	fillWithPopular: false,
};

/** Hit rate at 10, coverage, and recommendations per second of one strategy over the evaluated people. */
async function evaluate(
	store: Awaited<ReturnType<typeof openEmbeddedStore>>,
	people: Evaluated[],
	settings: Partial<RecommendationSettings>,
	request: (p: Evaluated) => RecommendationRequest,
): Promise<{ hitRate: number; coverage: number; perSecond: number }> {
	let hits = 0;
	let next = 0;
	const shown = new Set<string>();
	const t0 = performance.now();
	for await (const page of recommendationPages(store.driver, people.map(request), { ...SETTINGS, ...settings }, new Date(NOW))) {
		for (const list of page) {
			const person = people[next++];
			if (list.some((p) => person.heldOut.has(p.productId))) hits++;
			for (const p of list) shown.add(p.productId);
		}
	}
	return { hitRate: hits / people.length, coverage: shown.size / (GROUPS * GROUP), perSecond: people.length / ((performance.now() - t0) / 1000) };
}

async function main(): Promise<void> {
	const fmt = (n: number) => Math.round(n).toLocaleString('en');
	const store = await openEmbeddedStore();
	await importProducts(store.driver, feed(), { full: true, at: new Date(NOW - 200 * DAY) });
	let t0 = performance.now();
	const { evaluated, events } = await fill(store);
	process.stderr.write(`[bench] ${fmt(events)} events of ${fmt(PEOPLE)} people written in ${Math.round((performance.now() - t0) / 1000)} s\n`);

	const build = await refreshRecommendations(store.driver, new Date(NOW));
	process.stderr.write(`[bench] build: ${JSON.stringify(build)}\n`);
	const added = await newDay(store, NOW + DAY);
	const daily = await refreshRecommendations(store.driver, new Date(NOW + DAY));
	const [pairs] = await store.driver.all<{ n: number }>('SELECT COUNT(*) AS n FROM rt_rec_pairs');
	const lines = [
		`recommendations: ${fmt(events)} events, ${fmt(PEOPLE)} people, ${fmt(GROUPS * GROUP)} products (SQLite)`,
		`  build from scratch (Refresh): ${(build.durationMs / 1000).toFixed(1)} s, ${fmt(build.events / (build.durationMs / 1000))} events/s, ${fmt(build.transactions)} transactions; ${fmt(Number(pairs.n))} pair rows`,
		`  Refresh after a day of new events (${fmt(added)}): ${(daily.durationMs / 1000).toFixed(2)} s`,
	];
	if (EVALUATE) {
		const latest = (p: Evaluated): RecommendationRequest => ({ profileId: p.profileId, productIds: [p.latest] });
		const person = (p: Evaluated): RecommendationRequest => ({ profileId: p.profileId, productIds: [] });
		const itemToItem = await evaluate(store, evaluated, { strategy: 'itemToItem' }, latest);
		const popular = await evaluate(store, evaluated, { strategy: 'popular' }, person);
		const forThisPerson = await evaluate(store, evaluated, { strategy: 'forThisPerson', fillWithPopular: true }, person);
		const row = (name: string, r: typeof popular) =>
			`  ${name.padEnd(34)} hit rate@10 ${(r.hitRate * 100).toFixed(1).padStart(5)} %  (${(r.hitRate / popular.hitRate).toFixed(1)}x popular)  coverage ${(r.coverage * 100).toFixed(1).padStart(5)} %  ${fmt(r.perSecond)} people/s`;
		lines.push(
			`  held out: the last order of ${fmt(evaluated.length)} people (and their views of its products)`,
			row('item-to-item (latest product)', itemToItem),
			row('popular (purchases, 90 days)', popular),
			row('for this person (popular filling)', forThisPerson),
		);
		if (itemToItem.hitRate < 1.5 * popular.hitRate) throw new Error('item-to-item does not clearly beat popular');

		const catalogue = new ProductCatalogue() as INodeType;
		const items: INodeExecutionData[] = evaluated.slice(0, NODE_PEOPLE).map((p) => ({ json: { profileId: p.profileId, properties: { product_id: p.latest } } }));
		const node = async (strategy: string) => {
			let best = Infinity;
			for (let round = 0; round < 2; round++) {
				t0 = performance.now();
				const [out] = await runNode({ nodeType: catalogue, parameters: { resource: 'recommendation', operation: 'addToItems', strategy, count: 4 }, items, expressionEngine: 'legacy' });
				best = Math.min(best, performance.now() - t0);
				if (out.length !== items.length || !out.every((i) => Array.isArray(i.json.recommendations))) throw new Error(`Add to Items (${strategy}) answered ${out.length} items`);
			}
			return items.length / (best / 1000);
		};
		lines.push(
			`  Add to Items node, ${fmt(items.length)} people in one execution (n8n-core, worker thread), best of 2:`,
			`    for this person: ${fmt(await node('forThisPerson'))} people/s; bought or viewed together: ${fmt(await node('itemToItem'))} people/s`,
		);
	}
	process.stdout.write(`${lines.join('\n')}\n`);
	await store.close();
}

main()
	.catch((error: unknown) => {
		process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
		process.exitCode = 1;
	})
	.finally(() => rmSync(dir, { recursive: true, force: true }));
