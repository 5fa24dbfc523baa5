/**
 * `npm run bench` (store part): appends BENCH_EVENTS events (default 1,000,000) in batches of 100 to
 * each backend, and measures profile look-ups on a copy of the store taken when 10 % of them were in
 * and on the full store, in turn, to show whether look-up cost grows with the number of stored
 * events. Then a tenth more events come from several concurrent callers, as concurrent HTTP requests
 * to the Tracking Trigger do.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { TrackedEvent } from '../../nodes/shared/events/model.ts';
import type { RetargetingStore as Store } from '../../nodes/shared/store/store.ts';
import { dropSchema, ensurePostgres, TEST_PG_URL, uniqueSchema } from '../harness/postgres.ts';
import { repoRoot } from '../harness/paths.ts';

// What is measured is the build that ships (`npm run bench` builds first), typed by its sources.
const load = createRequire(path.join(repoRoot(), 'package.json'));
const { parseEvent } = load('./dist/nodes/shared/events/model.js') as typeof import('../../nodes/shared/events/model.ts');
const { PostgresDriver } = load('./dist/nodes/shared/store/postgres-driver.js') as typeof import('../../nodes/shared/store/postgres-driver.ts');
const { SqliteDriver } = load('./dist/nodes/shared/store/sqlite-driver.js') as typeof import('../../nodes/shared/store/sqlite-driver.ts');
const { RetargetingStore } = load('./dist/nodes/shared/store/store.js') as typeof import('../../nodes/shared/store/store.ts');
const { insertRows } = load('./dist/nodes/shared/store/sql.js') as typeof import('../../nodes/shared/store/sql.ts');
const { EVENTS_INSERT, eventRow } = load('./dist/nodes/shared/store/append.js') as typeof import('../../nodes/shared/store/append.ts');

const TOTAL = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const BATCH = 100;
const VISITORS = Math.max(1000, Math.round(TOTAL / 10));
const LOOKUPS = 5000;
const CALLERS = 8;
const backends = (process.env.BENCH_BACKENDS ?? 'sqlite,postgres').split(',');

/** A v4-style UUID, as browser and server libraries send: random, so the dedup index gets no help from order. */
function messageIdOf(n: number): string {
	const hex = createHash('md5').update(`bench-${n}`).digest('hex');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A shop's traffic: mostly product views, some cart activity, identifies and orders. */
function makeEvent(n: number): TrackedEvent {
	const visitor = n % VISITORS;
	const roll = (n * 7919) % 100;
	const base = { messageId: messageIdOf(n), anonymousId: `anon-${visitor}`, timestamp: new Date(1_767_225_600_000 + n * 1000).toISOString() };
	const raw =
		roll < 70
			? { ...base, type: 'track', event: 'Product Viewed', properties: { product_id: `p-${n % 500}`, price: 19.9 } }
			: roll < 85
				? { ...base, type: 'track', event: 'Product Added', properties: { cart_id: `cart-${visitor}`, product_id: `p-${n % 500}`, price: 19.9, quantity: 1 } }
				: roll < 95
					? { ...base, type: 'page', context: { page: { url: `https://shop.test/p/${n % 500}?utm_source=news&utm_campaign=w${n % 7}` } } }
					: roll < 98
						? { ...base, type: 'identify', userId: `user-${visitor}`, traits: { email: `v${visitor}@example.com` } }
						: { ...base, type: 'track', event: 'Order Completed', userId: `user-${visitor}`, properties: { order_id: `o-${n}`, revenue: 39.8 } };
	const parsed = parseEvent(raw);
	if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
	return parsed.event;
}

const PASSES = 5;

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Look-ups on the copy taken at 10 % and on the full store, pass by pass in turn (after one pass
 * each to warm the cache), so that both sides meet the same machine: a shared machine's speed moves
 * by tens of percent within seconds, more than any growth would. Returns each side's median.
 */
async function lookupsSideBySide(tenth: Store, full: Store): Promise<{ tenth: number; full: number }> {
	await lookupsPerSecond(tenth);
	await lookupsPerSecond(full);
	const rates = { tenth: [] as number[], full: [] as number[] };
	for (let pass = 0; pass < PASSES; pass++) {
		rates.tenth.push(await lookupsPerSecond(tenth));
		rates.full.push(await lookupsPerSecond(full));
	}
	return { tenth: median(rates.tenth), full: median(rates.full) };
}

async function lookupsPerSecond(store: Store): Promise<number> {
	const started = performance.now();
	let found = 0;
	for (let i = 0; i < LOOKUPS; i++) {
		const visitor = (i * 104_729) % VISITORS;
		if (await store.findProfile({ anonymousId: `anon-${visitor}` })) found++;
	}
	if (found === 0) throw new Error('no profile found: the benchmark is not measuring look-ups');
	return LOOKUPS / ((performance.now() - started) / 1000);
}

/**
 * Appends events [from, to) in batches of BATCH from `callers` concurrent callers and returns events/s.
 * Only appendEvents is timed: events are made and validated beforehand.
 */
async function append(store: Store, from: number, to: number, callers: number, onBatch?: (end: number) => Promise<void>): Promise<number> {
	let next = from;
	let busyMs = 0;
	let stored = 0;
	const caller = async (batches: TrackedEvent[][]) => {
		for (const batch of batches) {
			const t0 = performance.now();
			const result = await store.appendEvents(batch);
			busyMs += performance.now() - t0;
			stored += result.stored.length;
		}
	};
	if (callers === 1) {
		for (; next < to; next = Math.min(to, next + BATCH)) {
			const start = next;
			const end = Math.min(to, start + BATCH);
			await caller([Array.from({ length: end - start }, (_, i) => makeEvent(start + i))]);
			await onBatch?.(end);
		}
	} else {
		const batches: TrackedEvent[][][] = Array.from({ length: callers }, () => []);
		for (let start = from, i = 0; start < to; start += BATCH, i++) {
			batches[i % callers].push(Array.from({ length: Math.min(BATCH, to - start) }, (_, k) => makeEvent(start + k)));
		}
		const t0 = performance.now();
		await Promise.all(batches.map(caller));
		busyMs = performance.now() - t0;
	}
	if (stored !== to - from) throw new Error(`stored ${stored} of ${to - from} events`);
	return (to - from) / (busyMs / 1000);
}

/**
 * The floor under any store of these events: the same rows the store wrote to rt_events (same
 * profile ids, same JSON bodies), appended to an empty store of the same schema, 100 a transaction,
 * with nothing else (no dedup read, no identity, profiles, carts or touchpoints). Returns events/s.
 */
async function eventsTableAlone(source: Store, target: Store): Promise<number> {
	await target.migrate();
	const links = await source.driver.all<{ value: string; profile_id: string }>("SELECT value, profile_id FROM rt_identities WHERE kind = 'anonymousId'");
	const profileOf = new Map(links.map((link) => [link.value, link.profile_id]));
	let busyMs = 0;
	for (let start = 0; start < TOTAL; start += BATCH) {
		const rows = Array.from({ length: Math.min(BATCH, TOTAL - start) }, (_, i) => {
			const event = makeEvent(start + i);
			const profileId = profileOf.get(event.anonymousId ?? '');
			if (!profileId) throw new Error(`no profile for ${event.anonymousId}`);
			return eventRow(event, profileId);
		});
		const t0 = performance.now();
		await target.driver.transaction(async (tx) => {
			await insertRows(tx, EVENTS_INSERT, rows);
		});
		busyMs += performance.now() - t0;
	}
	return TOTAL / (busyMs / 1000);
}

/** Where the store is copied when a tenth of the events are in, and the copy opened. */
interface Snapshots {
	take(store: Store): Promise<void>;
	open(): Promise<Store>;
}

async function bench(name: string, store: Store, bare: Store, snapshots: Snapshots): Promise<void> {
	await store.migrate();
	const rate = await append(store, 0, TOTAL, 1, async (end) => {
		if (end === TOTAL / 10) await snapshots.take(store);
	});
	const tenth = await snapshots.open();
	const lookups = await lookupsSideBySide(tenth, store).finally(async () => await tenth.close());
	const extra = TOTAL / 10;
	const concurrent = await append(store, TOTAL, TOTAL + extra, CALLERS);
	const [{ n }] = await store.driver.all<{ n: number }>('SELECT COUNT(*) AS n FROM rt_events');
	if (Number(n) !== TOTAL + extra) throw new Error(`the store holds ${n} events, expected ${TOTAL + extra}`);
	const floor = await eventsTableAlone(store, bare);
	const fmt = (x: number) => Math.round(x).toLocaleString('en');
	process.stdout.write(
		[
			`${name}: ${fmt(TOTAL)} events appended in batches of ${BATCH}, one caller: ${fmt(rate)} events/s`,
			`${name}: the same rows into rt_events alone (same schema and indexes, ${BATCH} a transaction, no store logic): ${fmt(floor)} events/s; the store runs at ${((rate / floor) * 100).toFixed(0)} % of it`,
			`${name}: ${fmt(extra)} more events in batches of ${BATCH} from ${CALLERS} concurrent callers (batches share commits): ${fmt(concurrent)} events/s`,
			`${name}: profile look-ups, median of ${PASSES} passes in turn on a copy taken at ${fmt(TOTAL / 10)} stored events and on the store at ${fmt(TOTAL)}: ${fmt(lookups.tenth)}/s and ${fmt(lookups.full)}/s (ratio ${(lookups.full / lookups.tenth).toFixed(2)})`,
		].join('\n') + '\n',
	);
}

async function main(): Promise<void> {
	if (backends.includes('sqlite')) {
		const dir = mkdtempSync(path.join(tmpdir(), 'rt-bench-'));
		const store = new RetargetingStore(new SqliteDriver(path.join(dir, 'bench.sqlite')));
		const bare = new RetargetingStore(new SqliteDriver(path.join(dir, 'events-alone.sqlite')));
		const copy = path.join(dir, 'tenth.sqlite');
		const snapshots: Snapshots = {
			take: async (source) => await source.driver.exec(`VACUUM INTO '${copy}'`),
			open: async () => new RetargetingStore(new SqliteDriver(copy)),
		};
		try {
			await bench('SQLite', store, bare, snapshots);
		} finally {
			await store.close();
			await bare.close();
			rmSync(dir, { recursive: true, force: true });
		}
	}
	if (backends.includes('postgres')) {
		await ensurePostgres();
		const schema = uniqueSchema();
		const bareSchema = uniqueSchema();
		const tenthSchema = uniqueSchema();
		const store = new RetargetingStore(new PostgresDriver({ connectionString: TEST_PG_URL, schema }));
		const bare = new RetargetingStore(new PostgresDriver({ connectionString: TEST_PG_URL, schema: bareSchema }));
		const openTenth = () => new RetargetingStore(new PostgresDriver({ connectionString: TEST_PG_URL, schema: tenthSchema }));
		const snapshots: Snapshots = {
			// The same schema, filled with the rows the store holds; analyzed as the store's own tables are.
			take: async (source) => {
				const copy = openTenth();
				await copy.migrate();
				const tables = await source.driver.all<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE schemaname = ?', [schema]);
				for (const { tablename } of tables.filter((t) => t.tablename !== 'rt_migrations')) {
					await source.driver.exec(`INSERT INTO ${tenthSchema}.${tablename} SELECT * FROM ${schema}.${tablename}`);
				}
				await source.driver.exec(`ANALYZE ${tables.map((t) => `${tenthSchema}.${t.tablename}`).join(', ')}`);
				await copy.close();
			},
			open: async () => openTenth(),
		};
		try {
			await bench('PostgreSQL', store, bare, snapshots);
		} finally {
			await store.close();
			await bare.close();
			await dropSchema(schema);
			await dropSchema(bareSchema);
			await dropSchema(tenthSchema);
		}
	}
}

main().catch((error: unknown) => {
	process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
