import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { PostgresDriver } from '../../nodes/shared/store/postgres-driver.ts';
import { SqliteDriver } from '../../nodes/shared/store/sqlite-driver.ts';
import { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { dropSchema, ensurePostgres, TEST_PG_URL, uniqueSchema } from './postgres.ts';

export interface StoreFixture {
	open(): Promise<RetargetingStore>;
	dispose(): Promise<void>;
}

/** Both backends, for suites that must pass on each: a fresh database every fixture. */
export const BACKENDS: Array<[string, () => StoreFixture]> = [
	[
		'SQLite',
		() => {
			const dir = mkdtempSync(path.join(tmpdir(), 'rt-store-'));
			const file = path.join(dir, 'retargeting.sqlite');
			const opened: RetargetingStore[] = [];
			return {
				async open() {
					const store = new RetargetingStore(new SqliteDriver(file));
					opened.push(store);
					return store;
				},
				async dispose() {
					for (const store of opened) await store.close();
					rmSync(dir, { recursive: true, force: true });
				},
			};
		},
	],
	[
		'PostgreSQL',
		() => {
			const schema = uniqueSchema();
			const opened: RetargetingStore[] = [];
			return {
				async open() {
					await ensurePostgres();
					const store = new RetargetingStore(new PostgresDriver({ connectionString: TEST_PG_URL, schema }));
					opened.push(store);
					return store;
				},
				async dispose() {
					for (const store of opened) await store.close();
					await dropSchema(schema);
				},
			};
		},
	],
];
