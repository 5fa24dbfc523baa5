import type { EventProduct, Product, StoredProduct } from '../catalogue/product';
import type { SqlDriver, SqlValue } from './driver';
import { insertRows, json, parsed, selectIn } from './sql';

/** What a feed import did: products new to the store, changed, as they were, and gone from a full feed. */
export interface ProductImportCounts {
	inserted: number;
	updated: number;
	unchanged: number;
	/** Products of an earlier feed that a full import no longer lists: now out of stock. */
	markedUnavailable: number;
}

export interface ProductImportOptions {
	/** A full feed: the feed's products it does not list are marked unavailable. */
	full: boolean;
	/** The import's time: every product the feed lists is stamped with it. */
	at: Date;
}

/** Products written a transaction, so that neither SQLite's write lock nor the event loop is held for long. */
const BATCH = 1000;

const FEED_COLUMNS = [
	'title',
	'description',
	'link',
	'image_link',
	'price',
	'sale_price',
	'currency',
	'availability',
	'brand',
	'google_product_category',
	'product_type',
	'item_group_id',
	'custom_labels',
] as const;

const COLUMNS = ['id', ...FEED_COLUMNS, 'source', 'feed_seen_at', 'missing_since', 'created_at', 'updated_at'] as const;

interface ProductRow {
	id: string;
	title: string | null;
	description: string | null;
	link: string | null;
	image_link: string | null;
	price: number | null;
	sale_price: number | null;
	currency: string | null;
	availability: string | null;
	brand: string | null;
	google_product_category: string | null;
	product_type: string | null;
	item_group_id: string | null;
	custom_labels: unknown;
	source: string;
	feed_seen_at: string | null;
	missing_since: string | null;
	created_at: string;
	updated_at: string;
}

function toStoredProduct(row: ProductRow): StoredProduct {
	return {
		id: row.id,
		title: row.title,
		description: row.description,
		link: row.link,
		imageLink: row.image_link,
		price: row.price,
		salePrice: row.sale_price,
		currency: row.currency,
		availability: row.availability as StoredProduct['availability'],
		brand: row.brand,
		googleProductCategory: row.google_product_category,
		productType: row.product_type,
		itemGroupId: row.item_group_id,
		customLabels: parsed(row.custom_labels),
		source: row.source as StoredProduct['source'],
		feedSeenAt: row.feed_seen_at,
		missingSince: row.missing_since,
		createdAt: row.created_at,
		updatedAt: row.updated_at,
	};
}

/** The feed's fields of a product, in FEED_COLUMNS order. */
function feedValues(p: Product): SqlValue[] {
	return [p.title, p.description, p.link, p.imageLink, p.price, p.salePrice, p.currency, p.availability, p.brand, p.googleProductCategory, p.productType, p.itemGroupId, json(p.customLabels)];
}

/** Whether the store's copy is the feed's product as it is, listed by the feed. */
function sameAsFeed(stored: StoredProduct, p: Product): boolean {
	const a = feedValues(stored);
	const b = feedValues(p);
	return stored.source === 'feed' && stored.missingSince === null && a.every((value, i) => value === b[i]);
}

/**
 * Rows in one order for every writer: on PostgreSQL an upsert locks its rows one after another, and
 * an import and an append locking the same products in opposite orders would deadlock.
 */
const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The stored products with these ids, by id; ids the store does not know are absent. */
export async function productsByIds(db: SqlDriver, ids: string[]): Promise<Map<string, StoredProduct>> {
	const rows = await selectIn<ProductRow>(db, `SELECT ${COLUMNS.join(', ')} FROM rt_products WHERE id IN (?*)`, ids);
	return new Map(rows.map((row) => [row.id, toStoredProduct(row)]));
}

/**
 * Upserts a feed's products by id, BATCH a transaction: a product new to the store is inserted, one
 * that differs (or came from events, or had gone from the feed) takes the feed's fields, and every
 * listed product is stamped with the import's time. A full import then marks the products an
 * earlier feed listed and this one does not as out of stock (missing_since), never products learnt
 * from events; a full import of no product marks nothing. Ids must be unique in `products`.
 */
export async function importProducts(db: SqlDriver, products: readonly Product[], options: ProductImportOptions): Promise<ProductImportCounts> {
	const at = options.at.toISOString();
	const counts: ProductImportCounts = { inserted: 0, updated: 0, unchanged: 0, markedUnavailable: 0 };
	const write = async (rows: readonly Product[]) => {
		await db.transaction(async (tx) => {
			const stored = await productsByIds(tx, rows.map((p) => p.id));
			const values = rows.map((p) => {
				const before = stored.get(p.id);
				const same = before !== undefined && sameAsFeed(before, p);
				if (!before) counts.inserted++;
				else if (same) counts.unchanged++;
				else counts.updated++;
				return [p.id, ...feedValues(p), 'feed', at, null, before?.createdAt ?? at, same ? before.updatedAt : at];
			});
			await insertRows(
				tx,
				`INSERT INTO rt_products (${COLUMNS.join(', ')})`,
				values,
				`ON CONFLICT (id) DO UPDATE SET ${[...FEED_COLUMNS, 'source', 'feed_seen_at', 'missing_since', 'updated_at'].map((c) => `${c} = excluded.${c}`).join(', ')}`,
			);
		});
	};
	for (let start = 0; start < products.length; start += BATCH) await write(products.slice(start, start + BATCH).sort(byId));
	// Without a listed product, a full import would take every product out of stock: an empty feed is a mistake.
	if (options.full && products.length > 0) {
		counts.markedUnavailable = await db.run(
			`UPDATE rt_products SET availability = 'out_of_stock', missing_since = ?, updated_at = ?
			 WHERE source = 'feed' AND missing_since IS NULL AND feed_seen_at < ?`,
			[at, at, at],
		);
	}
	return counts;
}

/** Columns an event can teach, in EventProduct terms. */
const EVENT_COLUMNS = [
	['title', 'title'],
	['price', 'price'],
	['currency', 'currency'],
	['link', 'link'],
	['image_link', 'imageLink'],
	['product_type', 'productType'],
	['brand', 'brand'],
] as const satisfies ReadonlyArray<readonly [string, keyof EventProduct]>;

/**
 * What tracked events say about products (merged per product, the latest event's values winning):
 * a product the store does not know is created from them; one learnt from events takes the values
 * they carry and keeps the others. A product from a feed is not touched: the feed is authoritative.
 * Products are read first and only new or changed ones written, so that the usual case (views of
 * known products) locks and rewrites no row.
 */
export async function learnProducts(tx: SqlDriver, products: Iterable<EventProduct & { at: string }>): Promise<void> {
	const said = [...products];
	if (said.length === 0) return;
	const rows = await selectIn<Record<string, string | number | null>>(tx, `SELECT id, source, ${EVENT_COLUMNS.map(([c]) => c).join(', ')} FROM rt_products WHERE id IN (?*)`, said.map((p) => p.id));
	const stored = new Map(rows.map((row) => [row.id as string, row]));
	const news = said.filter((p) => {
		const known = stored.get(p.id);
		const differs = ([column, key]: (typeof EVENT_COLUMNS)[number]) => p[key] !== undefined && p[key] !== known?.[column];
		return !known || (known.source === 'events' && EVENT_COLUMNS.some(differs));
	});
	await insertRows(
		tx,
		`INSERT INTO rt_products (id, ${EVENT_COLUMNS.map(([c]) => c).join(', ')}, custom_labels, source, created_at, updated_at)`,
		news.sort(byId).map((p) => [p.id, ...EVENT_COLUMNS.map(([, key]) => p[key] ?? null), '{}', 'events', p.at, p.at]),
		// The guard holds if a feed import took the product over since it was read.
		`ON CONFLICT (id) DO UPDATE SET ${EVENT_COLUMNS.map(([c]) => `${c} = COALESCE(excluded.${c}, rt_products.${c})`).join(', ')}, updated_at = excluded.updated_at
		 WHERE rt_products.source = 'events'`,
	);
}
