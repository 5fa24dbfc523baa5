/**
 * `npm run bench` (abandoned-cart part): the Abandoned Cart Trigger's sweep (find the due carts,
 * claim them) with 10,000 carts due among 100,000 and among 1,000,000 stored carts, on SQLite.
 * The other carts were abandoned before the look-back window, or already got their steps: the
 * sweep must not grow with them. Fixture rows are written straight into the tables (the sweep is
 * what is measured, not the event path).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { AbandonmentRules } from '../../nodes/shared/store/abandonment.ts';
import { repoRoot } from '../harness/paths.ts';

const load = createRequire(path.join(repoRoot(), 'package.json'));
const { SqliteDriver } = load('./dist/nodes/shared/store/sqlite-driver.js') as typeof import('../../nodes/shared/store/sqlite-driver.ts');
const { RetargetingStore } = load('./dist/nodes/shared/store/store.js') as typeof import('../../nodes/shared/store/store.ts');
const { insertRows } = load('./dist/nodes/shared/store/sql.js') as typeof import('../../nodes/shared/store/sql.ts');

const HOUR = 3_600_000;
const DUE = 10_000;
const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const rules: AbandonmentRules = {
	triggerKey: 'bench:trigger',
	delaysMs: [HOUR, 24 * HOUR, 72 * HOUR],
	checkoutOnly: false,
	minValue: 0,
	includeAnonymous: false,
	consentPurpose: 'email',
	endOn: { order: true, emptied: true, optOut: true },
	lookbackMs: 7 * 24 * HOUR,
	limit: DUE,
};

async function sweep(total: number): Promise<{ ms: number; claimed: number }> {
	const dir = mkdtempSync(path.join(tmpdir(), 'rt-carts-'));
	const store = new RetargetingStore(new SqliteDriver(path.join(dir, 'carts.sqlite')));
	try {
		await store.migrate();
		const iso = (ms: number) => new Date(ms).toISOString();
		const items = JSON.stringify([{ productId: 'sku-1', price: 30, quantity: 1 }]);
		for (let start = 0; start < total; start += 5000) {
			const n = Math.min(5000, total - start);
			const profiles: Array<Array<string | number | null>> = [];
			const carts: Array<Array<string | number | null>> = [];
			for (let i = start; i < start + n; i++) {
				// The first DUE carts are idle 1-2 h (step 1 due); the rest went quiet 30-395 days ago.
				const last = i < DUE ? NOW - HOUR - (i % 3600) * 1000 : NOW - (30 + (i % 365)) * 24 * HOUR;
				profiles.push([`p-${i}`, null, `v${i}@example.com`, '{}', '{"email":true}', iso(last), iso(last)]);
				carts.push([`c-${i}`, `p-${i}`, items, 30, 'EUR', 'open', iso(last), iso(last), null, null, null]);
			}
			await store.driver.transaction(async (tx) => {
				await insertRows(tx, 'INSERT INTO rt_profiles (id, user_id, email, traits, consent, first_seen, last_seen)', profiles);
				await insertRows(
					tx,
					'INSERT INTO rt_carts (id, profile_id, items, value, currency, status, opened_at, last_activity, converted_at, order_id, checkout_at)',
					carts,
				);
			});
		}
		await store.driver.exec('ANALYZE');
		const t0 = performance.now();
		const claimed = await store.claimDueCarts(rules, NOW);
		const ms = performance.now() - t0;
		if (claimed.length !== DUE) throw new Error(`claimed ${claimed.length} carts, expected ${DUE}`);
		if ((await store.claimDueCarts(rules, NOW)).length !== 0) throw new Error('a second sweep claimed carts again');
		return { ms, claimed: claimed.length };
	} finally {
		await store.close();
		rmSync(dir, { recursive: true, force: true });
	}
}

async function main(): Promise<void> {
	const small = await sweep(100_000);
	const large = await sweep(1_000_000);
	process.stdout.write(
		[
			`abandoned carts: sweep of ${DUE.toLocaleString('en')} due carts among 100,000 stored: ${Math.round(small.ms)} ms`,
			`abandoned carts: sweep of ${DUE.toLocaleString('en')} due carts among 1,000,000 stored: ${Math.round(large.ms)} ms (ratio ${(large.ms / small.ms).toFixed(2)})`,
		].join('\n') + '\n',
	);
}

main().catch((error: unknown) => {
	process.stderr.write(`abandoned-cart bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
