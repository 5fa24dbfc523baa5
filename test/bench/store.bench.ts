/**
 * `npm run bench` (store part): appends BENCH_EVENTS events (default 1,000,000) in batches of 100 to
 * each backend, and measures profile look-ups when 10 % and 100 % of them are stored, to show whether
 * look-up cost grows with the number of stored events.
 */
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

const TOTAL = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const BATCH = 100;
const VISITORS = Math.max(1000, Math.round(TOTAL / 10));
const LOOKUPS = 5000;
const backends = (process.env.BENCH_BACKENDS ?? 'sqlite,postgres').split(',');

/** A shop's traffic: mostly product views, some cart activity, identifies and orders. */
function makeEvent(n: number): TrackedEvent {
	const visitor = n % VISITORS;
	const roll = (n * 7919) % 100;
	const base = { messageId: `bench-${n}`, anonymousId: `anon-${visitor}`, timestamp: new Date(1_767_225_600_000 + n * 1000).toISOString() };
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

async function bench(name: string, store: Store): Promise<void> {
	await store.migrate();
	let appendMs = 0;
	let lookupsAt10 = 0;
	let stored = 0;
	for (let start = 0; start < TOTAL; start += BATCH) {
		const batch = Array.from({ length: Math.min(BATCH, TOTAL - start) }, (_, i) => makeEvent(start + i));
		const t0 = performance.now();
		const result = await store.appendEvents(batch);
		appendMs += performance.now() - t0;
		stored += result.stored.length;
		if (start + BATCH === TOTAL / 10) lookupsAt10 = await lookupsPerSecond(store);
	}
	const lookupsAt100 = await lookupsPerSecond(store);
	const [{ n }] = await store.driver.all<{ n: number }>('SELECT COUNT(*) AS n FROM rt_events');
	if (Number(n) !== TOTAL || stored !== TOTAL) throw new Error(`stored ${n} of ${TOTAL} events`);
	const rate = TOTAL / (appendMs / 1000);
	process.stdout.write(
		[
			`${name}: ${TOTAL.toLocaleString('en')} events appended in batches of ${BATCH}: ${Math.round(rate).toLocaleString('en')} events/s`,
			`${name}: profile look-ups at ${(TOTAL / 10).toLocaleString('en')} stored events: ${Math.round(lookupsAt10).toLocaleString('en')}/s; at ${TOTAL.toLocaleString('en')}: ${Math.round(lookupsAt100).toLocaleString('en')}/s (ratio ${(lookupsAt100 / lookupsAt10).toFixed(2)})`,
		].join('\n') + '\n',
	);
}

async function main(): Promise<void> {
	if (backends.includes('sqlite')) {
		const dir = mkdtempSync(path.join(tmpdir(), 'rt-bench-'));
		const store = new RetargetingStore(new SqliteDriver(path.join(dir, 'bench.sqlite')));
		try {
			await bench('SQLite', store);
		} finally {
			await store.close();
			rmSync(dir, { recursive: true, force: true });
		}
	}
	if (backends.includes('postgres')) {
		await ensurePostgres();
		const schema = uniqueSchema();
		const store = new RetargetingStore(new PostgresDriver({ connectionString: TEST_PG_URL, schema }));
		try {
			await bench('PostgreSQL', store);
		} finally {
			await store.close();
			await dropSchema(schema);
		}
	}
}

main().catch((error: unknown) => {
	process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
