import { Client } from 'pg';

import { parseEvent, type TrackedEvent } from '../../nodes/shared/events/model.ts';
import { PostgresDriver } from '../../nodes/shared/store/postgres-driver.ts';
import { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { dropSchema, ensurePostgres, TEST_PG_URL, uniqueSchema } from '../harness/postgres.ts';

function visit(n: number): TrackedEvent {
	const result = parseEvent({ messageId: `stat-${n}`, type: 'track', event: 'Product Viewed', anonymousId: `visitor-${n}`, timestamp: new Date(Date.UTC(2026, 10, 1) + n * 1000).toISOString() });
	if (!result.ok) throw new Error(JSON.stringify(result.errors));
	return result.event;
}

describe('the PostgreSQL store and the planner statistics', () => {
	const schema = uniqueSchema();
	let db: Client;

	beforeAll(async () => {
		await ensurePostgres();
		db = new Client({ connectionString: TEST_PG_URL });
		await db.connect();
	});

	afterAll(async () => {
		await db.end();
		await dropSchema(schema);
	});

	it('analyzes its own tables as they grow on a server without autovacuum, and leaves them to autovacuum otherwise', async () => {
		const store = new RetargetingStore(new PostgresDriver({ connectionString: TEST_PG_URL, schema }));
		await store.migrate();
		for (let start = 0; start < 1500; start += 100) {
			await store.appendEvents(Array.from({ length: 100 }, (_, i) => visit(start + i)));
		}
		await store.close();

		const [{ autovacuum }] = (await db.query<{ autovacuum: string }>("SELECT current_setting('autovacuum') AS autovacuum")).rows;
		const { rows } = await db.query<{ relname: string; last_analyze: Date | null }>(
			"SELECT relname, last_analyze FROM pg_stat_user_tables WHERE schemaname = $1 AND relname IN ('rt_events', 'rt_identities', 'rt_profiles') ORDER BY relname",
			[schema],
		);
		expect(rows.map((r) => [r.relname, r.last_analyze !== null])).toEqual(
			['rt_events', 'rt_identities', 'rt_profiles'].map((table) => [table, autovacuum === 'off']),
		);
	});
});
