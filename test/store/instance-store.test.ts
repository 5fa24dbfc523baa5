import { inQueueMode, openEmbeddedStore, openInstanceStore, refuseEmbeddedInQueueMode, StoreSetupError } from '../../nodes/shared/store/open.ts';
import { eventAt } from '../harness/events.ts';
import { dropSchema, ensurePostgres, TEST_PG_URL, uniqueSchema } from '../harness/postgres.ts';

describe('one store for the whole n8n instance', () => {
	it('is PostgreSQL when RETARGETING_STORE_URL is set, in the schema RETARGETING_STORE_SCHEMA; the same store for every node of the process', async () => {
		await ensurePostgres();
		const schema = uniqueSchema();
		const env = { RETARGETING_STORE_URL: TEST_PG_URL, RETARGETING_STORE_SCHEMA: schema };
		try {
			const store = (await openInstanceStore(env))!;
			expect(store.driver.dialect).toBe('postgres');
			expect(await openInstanceStore(env)).toBe(store);
			await store.appendEvents([eventAt(Date.now(), { type: 'identify', userId: 'ada', traits: { email: 'ada@example.com' } })]);
			const [row] = await store.driver.all<{ n: string }>('SELECT COUNT(*) AS n FROM rt_profiles');
			expect(Number(row.n)).toBe(1);
			const [where] = await store.driver.all<{ schema: string }>('SELECT current_schema() AS schema');
			expect(where.schema).toBe(schema);
			await store.close();
		} finally {
			await dropSchema(schema);
		}
	});

	it('is the embedded store when RETARGETING_STORE_URL is not set, and refuses a URL that is not PostgreSQL', async () => {
		expect(await openInstanceStore({})).toBeUndefined();
		expect(await openInstanceStore({ RETARGETING_STORE_URL: '  ' })).toBeUndefined();
		await expect(openInstanceStore({ RETARGETING_STORE_URL: 'mysql://db/n8n' })).rejects.toThrow('RETARGETING_STORE_URL must be a postgres:// URL');
	});

	it('knows queue mode from EXECUTIONS_MODE, and workers and webhook processes from their command', () => {
		expect(inQueueMode({ EXECUTIONS_MODE: 'queue' }, ['node', 'n8n', 'start'])).toBe(true);
		expect(inQueueMode({}, ['node', 'n8n', 'worker', '--concurrency=5'])).toBe(true);
		expect(inQueueMode({}, ['node', 'n8n', 'webhook'])).toBe(true);
		expect(inQueueMode({ EXECUTIONS_MODE: 'regular' }, ['node', 'n8n', 'start'])).toBe(false);
		expect(inQueueMode({}, ['node', 'jest'])).toBe(false);
	});

	it('refuses the embedded store in queue mode, naming the fix, before any file is opened', async () => {
		expect(() => refuseEmbeddedInQueueMode({ EXECUTIONS_MODE: 'queue' }, ['node', 'n8n', 'start'])).toThrow(StoreSetupError);
		expect(() => refuseEmbeddedInQueueMode({ EXECUTIONS_MODE: 'queue' }, ['node', 'n8n', 'start'])).toThrow(/RETARGETING_STORE_URL=postgres:\/\/.* on every n8n process/);
		expect(() => refuseEmbeddedInQueueMode({}, ['node', 'n8n', 'start'])).not.toThrow();
		const saved = process.env.EXECUTIONS_MODE;
		process.env.EXECUTIONS_MODE = 'queue';
		try {
			await expect(openEmbeddedStore('/nonexistent-dir/never-created/store.sqlite')).rejects.toThrow(StoreSetupError);
		} finally {
			if (saved === undefined) delete process.env.EXECUTIONS_MODE;
			else process.env.EXECUTIONS_MODE = saved;
		}
	});
});
