import { eventProductOf, type StoredProduct } from '../catalogue/product';
import { addToSet, cosine, type Kind, KINDS, type Neighbour, neighbourScores, type PersonItem } from '../recommendations/cooccurrence';
import {
	combineSignals,
	pick,
	recencyWeights,
	ranked,
	type RecommendationSettings,
	type RecommendedProduct,
	SIGNAL_WEIGHTS,
	type Strategy,
	trendScore,
} from '../recommendations/rank';
import { type CartItem, ORDER_EVENT } from './carts';
import type { SqlDriver, SqlValue } from './driver';
import { productsByIds } from './products';
import { insertRows, parsed, selectIn, takeTurns } from './sql';

const DAY = 86_400_000;

/** The events the co-occurrence counts read, and which kind each is. */
const KIND_OF_EVENT: Record<string, Kind> = { 'Product Viewed': 'viewed', [ORDER_EVENT]: 'bought' };

/**
 * Events received this close to now wait for the next refresh: an append that waits for the write
 * lock (up to 30 s) can still commit events received before the last one a refresh read.
 */
export const SETTLE_MS = 60_000;

/** Events a refresh transaction reads: short enough that SQLite's write lock is not held long. */
const BATCH_EVENTS = 5000;

/** Daily counts older than this are deleted: no window reads further back. */
export const MAX_WINDOW_DAYS = 365;

const STATE = 'events';

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export interface RefreshReport {
	/** Product views and orders read. */
	events: number;
	/** Products new to a person. */
	personProducts: number;
	/** The pairs those made with the person's other products (each pair's count went up by one). */
	pairs: number;
	/** The received times read: after `from`, up to `to`. */
	from: string | null;
	to: string | null;
	transactions: number;
	durationMs: number;
}

interface EventRow {
	profile_id: string;
	event: string;
	timestamp: string;
	body: unknown;
}

/** The products an event names: a product event's own, or an order's list, each once. */
function productsOf(row: EventRow): string[] {
	const properties = parsed<{ properties?: Record<string, unknown> }>(row.body).properties ?? {};
	const raw = row.event === ORDER_EVENT ? (Array.isArray(properties.products) ? properties.products : []) : [properties];
	const ids = raw.flatMap((p) => (p && typeof p === 'object' ? [eventProductOf(p as Record<string, unknown>)?.id] : [])).filter((id): id is string => !!id);
	return [...new Set(ids)];
}

/** The products these people viewed or bought, each with when first. */
async function personItemsOf(db: SqlDriver, profileIds: string[]): Promise<Array<{ profile_id: string; kind: string; product_id: string; first_at: string }>> {
	return await selectIn(db, 'SELECT profile_id, kind, product_id, first_at FROM rt_rec_person_items WHERE profile_id IN (?*)', profileIds);
}

function bump(counts: Map<string, number>, key: string): void {
	counts.set(key, (counts.get(key) ?? 0) + 1);
}

const SEP = '\u0000';

/**
 * Reads the product views and orders received since the last refresh and adds them to the
 * co-occurrence counts and the daily counts, 5,000 events a transaction; each transaction also
 * moves the mark of what was read, so that an interrupted refresh resumes where it stopped and
 * nothing is counted twice. Two refreshes at once take turns.
 */
export async function refreshRecommendations(db: SqlDriver, now = new Date(), batch = BATCH_EVENTS): Promise<RefreshReport> {
	const started = performance.now();
	const cutoff = new Date(now.getTime() - SETTLE_MS).toISOString();
	const report: RefreshReport = { events: 0, personProducts: 0, pairs: 0, from: null, to: null, transactions: 0, durationMs: 0 };
	for (;;) {
		const step = await db.transaction(async (tx) => {
			await takeTurns(tx, 'rt_rec_state');
			const [state] = await tx.all<{ received_at: string }>('SELECT received_at FROM rt_rec_state WHERE name = ?', [STATE]);
			const from = state?.received_at ?? '';
			if (from >= cutoff) return undefined;
			// Up to the batch's last received time, with every event received at that same time.
			const [edge] = await tx.all<{ received_at: string }>('SELECT received_at FROM rt_events WHERE received_at > ? AND received_at <= ? ORDER BY received_at LIMIT 1 OFFSET ?', [from, cutoff, batch - 1]);
			const to = edge?.received_at ?? cutoff;
			const rows = await tx.all<EventRow>(
				`SELECT profile_id, event, timestamp, body FROM rt_events WHERE received_at > ? AND received_at <= ? AND event IN (?, ?)`,
				[from, to, ...Object.keys(KIND_OF_EVENT)],
			);
			const counted = await countEvents(tx, rows);
			await tx.run('INSERT INTO rt_rec_state (name, received_at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET received_at = excluded.received_at', [STATE, to]);
			return { from, to, events: rows.length, ...counted };
		});
		if (!step) break;
		report.from ??= step.from || null;
		report.to = step.to;
		report.events += step.events;
		report.personProducts += step.personProducts;
		report.pairs += step.pairs;
		report.transactions++;
		if (step.to >= cutoff) break;
	}
	// Both kinds named, so that the primary key (kind, day, …) finds the old days without a full scan.
	await db.run('DELETE FROM rt_rec_daily WHERE kind IN (?, ?) AND day < ?', [...KINDS, isoDay(now.getTime() - (MAX_WINDOW_DAYS + 1) * DAY)]);
	report.durationMs = Math.round(performance.now() - started);
	return report;
}

/** Adds one batch of events to the counts. */
async function countEvents(tx: SqlDriver, rows: EventRow[]): Promise<{ personProducts: number; pairs: number }> {
	const seen = new Map<string, PersonItem[]>();
	const daily = new Map<string, number>();
	for (const row of rows) {
		const kind = KIND_OF_EVENT[row.event];
		const key = `${row.profile_id}${SEP}${kind}`;
		const items = seen.get(key) ?? [];
		for (const productId of productsOf(row)) {
			items.push({ productId, at: row.timestamp });
			bump(daily, [kind, row.timestamp.slice(0, 10), productId].join(SEP));
		}
		seen.set(key, items);
	}
	const existing = new Map<string, PersonItem[]>();
	const people = [...new Set(rows.map((row) => row.profile_id))];
	for (const row of await personItemsOf(tx, people)) {
		const key = `${row.profile_id}${SEP}${row.kind}`;
		const items = existing.get(key) ?? [];
		items.push({ productId: row.product_id, at: row.first_at });
		existing.set(key, items);
	}
	const personRows: SqlValue[][] = [];
	const itemCounts = new Map<string, number>();
	const pairCounts = new Map<string, number>();
	let pairCount = 0;
	for (const [key, items] of seen) {
		const [profileId, kind] = key.split(SEP);
		const { added, pairs } = addToSet(existing.get(key) ?? [], items);
		for (const item of added) {
			personRows.push([profileId, kind, item.productId, item.at]);
			bump(itemCounts, `${kind}${SEP}${item.productId}`);
		}
		pairCount += pairs.length;
		for (const [a, b] of pairs) {
			bump(pairCounts, [kind, a, b].join(SEP));
			bump(pairCounts, [kind, b, a].join(SEP));
		}
	}
	const split = (counts: Map<string, number>) => [...counts].map(([key, n]) => [...key.split(SEP), n]);
	await insertRows(tx, 'INSERT INTO rt_rec_person_items (profile_id, kind, product_id, first_at)', personRows, 'ON CONFLICT (profile_id, kind, product_id) DO NOTHING');
	await insertRows(tx, 'INSERT INTO rt_rec_item_counts (kind, product_id, people)', split(itemCounts), 'ON CONFLICT (kind, product_id) DO UPDATE SET people = rt_rec_item_counts.people + excluded.people');
	await insertRows(tx, 'INSERT INTO rt_rec_pairs (kind, product_id, other_id, people)', split(pairCounts), 'ON CONFLICT (kind, product_id, other_id) DO UPDATE SET people = rt_rec_pairs.people + excluded.people');
	await insertRows(tx, 'INSERT INTO rt_rec_daily (kind, day, product_id, events)', split(daily), 'ON CONFLICT (kind, day, product_id) DO UPDATE SET events = rt_rec_daily.events + excluded.events');
	return { personProducts: personRows.length, pairs: pairCount };
}

/** What the store knows of a person that recommending needs. */
interface PersonContext {
	/** The products they viewed, added to a cart or bought, most recent first. */
	recent: string[];
	/** The products they viewed, most recent first. */
	viewed: string[];
	bought: Set<string>;
	inCart: Set<string>;
}

/** Most recent first, by the latest time each product was seen. */
function latestFirst(times: Map<string, string>): string[] {
	return [...times].sort((a, b) => (a[1] < b[1] ? 1 : a[1] > b[1] ? -1 : a[0] < b[0] ? -1 : 1)).map(([id]) => id);
}

/**
 * Each person's products, from their events (what the refresh has not read yet too) and from their
 * sets (what the retention purge has already deleted from the events).
 */
async function peopleContexts(db: SqlDriver, profileIds: string[]): Promise<Map<string, PersonContext>> {
	const times = new Map<string, { recent: Map<string, string>; viewed: Map<string, string>; bought: Set<string>; inCart: Set<string> }>();
	const of = (id: string) => {
		let found = times.get(id);
		if (!found) times.set(id, (found = { recent: new Map(), viewed: new Map(), bought: new Set(), inCart: new Set() }));
		return found;
	};
	const later = (into: Map<string, string>, id: string, at: string) => {
		const before = into.get(id);
		if (!before || at > before) into.set(id, at);
	};
	const events = await selectIn<EventRow>(db, 'SELECT profile_id, event, timestamp, body FROM rt_events WHERE event IN (?, ?, ?) AND profile_id IN (?*)', profileIds, [
		...Object.keys(KIND_OF_EVENT),
		'Product Added',
	]);
	for (const row of events) {
		const person = of(row.profile_id);
		for (const id of productsOf(row)) {
			later(person.recent, id, row.timestamp);
			if (row.event === 'Product Viewed') later(person.viewed, id, row.timestamp);
			if (row.event === ORDER_EVENT) person.bought.add(id);
		}
	}
	for (const row of await personItemsOf(db, profileIds)) {
		const person = of(row.profile_id);
		later(person.recent, row.product_id, row.first_at);
		if (row.kind === 'viewed') later(person.viewed, row.product_id, row.first_at);
		else person.bought.add(row.product_id);
	}
	for (const row of await selectIn<{ profile_id: string; items: unknown }>(db, 'SELECT profile_id, items FROM rt_carts WHERE status = ? AND profile_id IN (?*)', profileIds, ['open'])) {
		for (const item of parsed<CartItem[]>(row.items)) of(row.profile_id).inCart.add(item.productId);
	}
	return new Map([...times].map(([id, t]) => [id, { recent: latestFirst(t.recent), viewed: latestFirst(t.viewed), bought: t.bought, inCart: t.inCart }]));
}

/** Neighbours read per source product, best first: enough for any count once exclusions are made. */
const NEIGHBOURS = 100;

/** Candidates ranked per person before exclusions and availability are looked at. */
const CANDIDATES = 200;

/** Each product's most alike products of one kind, by cosine. */
async function neighboursOf(db: SqlDriver, kind: Kind, productIds: string[]): Promise<Map<string, Neighbour[]>> {
	// For one product the cosine ranks as together² / |U_other|: no square root in SQL.
	const rows = await selectIn<{ product_id: string; other_id: string; together: number; a_people: number; b_people: number }>(
		db,
		`SELECT product_id, other_id, together, a_people, b_people FROM (
			SELECT p.product_id, p.other_id, p.people AS together, a.people AS a_people, b.people AS b_people,
				ROW_NUMBER() OVER (PARTITION BY p.product_id ORDER BY p.people * p.people * 1.0 / b.people DESC, p.other_id) AS r
			FROM rt_rec_pairs p
			JOIN rt_rec_item_counts a ON a.kind = p.kind AND a.product_id = p.product_id
			JOIN rt_rec_item_counts b ON b.kind = p.kind AND b.product_id = p.other_id
			WHERE p.kind = ? AND p.product_id IN (?*)
		) ranked WHERE r <= ${NEIGHBOURS}`,
		productIds,
		[kind],
	);
	const neighbours = new Map<string, Neighbour[]>();
	for (const row of rows) {
		const list = neighbours.get(row.product_id) ?? [];
		list.push({ productId: row.other_id, score: cosine(Number(row.together), Number(row.a_people), Number(row.b_people)) });
		neighbours.set(row.product_id, list);
	}
	return neighbours;
}

/** The products most viewed (or bought) over the last `popularDays` days, most first. */
async function popular(db: SqlDriver, settings: RecommendationSettings, now: Date): Promise<string[]> {
	const rows = await db.all<{ product_id: string }>(
		`SELECT product_id, SUM(events) AS n FROM rt_rec_daily WHERE kind = ? AND day >= ? GROUP BY product_id ORDER BY n DESC, product_id LIMIT ${CANDIDATES}`,
		[settings.popularFrom, isoDay(now.getTime() - settings.popularDays * DAY)],
	);
	return rows.map((row) => row.product_id);
}

/** The products viewed (or bought) most above what their baseline predicts, most first. */
async function trending(db: SqlDriver, settings: RecommendationSettings, now: Date): Promise<string[]> {
	const recentFrom = isoDay(now.getTime() - settings.trendingDays * DAY);
	const rows = await db.all<{ product_id: string; recent: number; baseline: number }>(
		`SELECT product_id, SUM(CASE WHEN day >= ? THEN events ELSE 0 END) AS recent, SUM(CASE WHEN day < ? THEN events ELSE 0 END) AS baseline
		 FROM rt_rec_daily WHERE kind = ? AND day >= ? GROUP BY product_id`,
		[recentFrom, recentFrom, settings.popularFrom, isoDay(now.getTime() - (settings.trendingDays + settings.baselineDays) * DAY)],
	);
	const scores = new Map(rows.map((row) => [row.product_id, trendScore(Number(row.recent), Number(row.baseline), settings.trendingDays, settings.baselineDays)]));
	return ranked(scores).slice(0, CANDIDATES);
}

/** Whom to recommend to (a person of the store, when known) and from which products. */
export interface RecommendationRequest {
	profileId?: string;
	productIds: string[];
}

/** Requests answered a page at a time: one read of people, neighbours and products for each. */
const PAGE = 500;

/**
 * The products to show for each request, a page of answers at a time in request order. Never a
 * product the person bought, has in an open cart, or that the request starts from; only products
 * in stock, in the feed, with an image (and in the category, when asked).
 */
export async function* recommendationPages(db: SqlDriver, requests: RecommendationRequest[], settings: RecommendationSettings, now = new Date()): AsyncGenerator<RecommendedProduct[][]> {
	const { strategy } = settings;
	const popularIds = strategy === 'popular' || settings.fillWithPopular ? await popular(db, settings, now) : [];
	const trendingIds = strategy === 'trending' ? await trending(db, settings, now) : [];
	const neighbourCache = new Map<string, Neighbour[]>();
	const productCache = new Map<string, StoredProduct | undefined>();
	const weights = Object.entries(SIGNAL_WEIGHTS[settings.signal]) as Array<[Kind, number]>;
	for (let start = 0; start < requests.length; start += PAGE) {
		const page = requests.slice(start, start + PAGE);
		const contexts = await peopleContexts(db, page.flatMap((r) => (r.profileId ? [r.profileId] : [])));
		const sourcesOf = page.map((request) => {
			if (strategy === 'itemToItem') return request.productIds.map((productId) => ({ productId, weight: 1 }));
			if (strategy !== 'forThisPerson') return [];
			const recent = request.profileId ? (contexts.get(request.profileId)?.recent ?? []) : [];
			return recencyWeights([...new Set([...request.productIds, ...recent])]).map(({ item, weight }) => ({ productId: item, weight }));
		});
		const unread = [...new Set(sourcesOf.flat().map((s) => s.productId))].filter((id) => !neighbourCache.has(id));
		if (unread.length) {
			const byKind = await Promise.all(weights.map(async ([kind, weight]) => ({ weight, neighbours: await neighboursOf(db, kind, unread) })));
			const combined = combineSignals(byKind);
			for (const id of unread) neighbourCache.set(id, combined.get(id) ?? []);
		}
		const listsOf = page.map((request, i): Array<{ strategy: Strategy; ids: string[] }> => {
			const context = request.profileId ? contexts.get(request.profileId) : undefined;
			const own =
				strategy === 'popular' ? popularIds
				: strategy === 'trending' ? trendingIds
				: strategy === 'recentlyViewed' ? (context?.viewed ?? []).slice(0, CANDIDATES)
				: ranked(neighbourScores(sourcesOf[i], neighbourCache)).slice(0, CANDIDATES);
			return strategy === 'popular' || !settings.fillWithPopular ? [{ strategy, ids: own }] : [{ strategy, ids: own }, { strategy: 'popular', ids: popularIds }];
		});
		const unknown = [...new Set(listsOf.flat().flatMap((list) => list.ids))].filter((id) => !productCache.has(id));
		const found = await productsByIds(db, unknown);
		for (const id of unknown) productCache.set(id, found.get(id));
		yield page.map((request, i) => {
			const context = request.profileId ? contexts.get(request.profileId) : undefined;
			const excluded = new Set([...(context?.bought ?? []), ...(context?.inCart ?? []), ...sourcesOf[i].map((s) => s.productId), ...request.productIds]);
			return pick(listsOf[i], productCache, excluded, settings.count, settings.category);
		});
	}
}
