import type { SqlDriver } from '../../nodes/shared/store/driver.ts';
import { GroupCommit } from '../../nodes/shared/store/group-commit.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

describe.each(BACKENDS)('group commit on %s', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let driver: SqlDriver;
	let transactions: number;

	beforeEach(async () => {
		fixture = makeFixture();
		const store = await fixture.open();
		await store.driver.exec('CREATE TABLE gc_rows (n INTEGER PRIMARY KEY)');
		transactions = 0;
		const inner = store.driver;
		driver = {
			dialect: inner.dialect,
			all: async (sql, params) => await inner.all(sql, params),
			run: async (sql, params) => await inner.run(sql, params),
			exec: async (sql) => await inner.exec(sql),
			close: async () => await inner.close(),
			transaction: async (body) => {
				transactions++;
				return await inner.transaction(body);
			},
		};
	});

	afterEach(async () => {
		await fixture.dispose();
	});

	const insert = (failOn?: number) =>
		new GroupCommit<number, number>(driver, async (tx, n) => {
			await tx.run('INSERT INTO gc_rows (n) VALUES (?)', [n]);
			if (n === failOn) throw new Error(`call ${n} failed`);
			return n * 10;
		});

	const stored = async () => (await driver.all<{ n: number }>('SELECT n FROM gc_rows ORDER BY n')).map((r) => Number(r.n));

	it('joins the calls that wait into one transaction, with one result each', async () => {
		const group = insert();
		expect(await Promise.all([1, 2, 3, 4, 5].map(async (n) => await group.run(n)))).toEqual([10, 20, 30, 40, 50]);
		// The first call starts at once; the four that arrive meanwhile share the next commit.
		expect(transactions).toBe(2);
		expect(await stored()).toEqual([1, 2, 3, 4, 5]);
	});

	it('retries the calls of a failed joint transaction one by one, so only the failing call fails', async () => {
		const group = insert(3);
		const outcomes = await Promise.allSettled([1, 2, 3, 4, 5].map(async (n) => await group.run(n)));
		expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([
			10,
			20,
			'call 3 failed',
			40,
			50,
		]);
		expect(transactions).toBe(1 + 1 + 4);
		expect(await stored()).toEqual([1, 2, 4, 5]);
	});
});
