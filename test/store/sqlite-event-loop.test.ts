import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { insertRows } from '../../nodes/shared/store/sql.ts';
import { SqliteDriver } from '../../nodes/shared/store/sqlite-driver.ts';

/**
 * node:sqlite answers on the calling thread: the driver hands n8n's event loop a turn every 20 ms
 * or so, within a big read and between many small calls, so that a webhook arriving meanwhile is
 * answered. Measured by what the loop gets to run, not by timing.
 */
describe('the SQLite driver and the event loop', () => {
	const dir = mkdtempSync(path.join(tmpdir(), 'rt-event-loop-'));
	const driver = new SqliteDriver(path.join(dir, 'store.sqlite'));

	beforeAll(async () => {
		await driver.exec('CREATE TABLE rows (n INTEGER PRIMARY KEY, label TEXT NOT NULL)');
		await driver.transaction(async (tx) => {
			for (let start = 0; start < 300_000; start += 10_000) {
				await insertRows(tx, 'INSERT INTO rows (n, label)', Array.from({ length: 10_000 }, (_, i) => [start + i, `row ${start + i}`]));
			}
		});
	});

	afterAll(async () => {
		await driver.close();
		rmSync(dir, { recursive: true, force: true });
	});

	/** How many times the event loop ran an immediate while `work` ran. */
	async function turnsDuring(work: () => Promise<unknown>): Promise<number> {
		let turns = 0;
		let working = true;
		const tick = () => {
			if (!working) return;
			turns++;
			setImmediate(tick);
		};
		setImmediate(tick);
		await work();
		working = false;
		return turns;
	}

	it('lets the event loop in while it reads 300,000 rows, and returns them all', async () => {
		let rows: unknown[] = [];
		const turns = await turnsDuring(async () => (rows = await driver.all('SELECT n, label FROM rows ORDER BY n')));
		expect(rows).toHaveLength(300_000);
		expect(rows[299_999]).toEqual({ n: 299_999, label: 'row 299999' });
		expect(turns).toBeGreaterThan(1);
	});

	it('lets it in between many small calls too, which only await one another', async () => {
		const turns = await turnsDuring(async () => {
			for (let n = 0; n < 30_000; n++) await driver.all('SELECT label FROM rows WHERE n = ?', [n]);
		});
		expect(turns).toBeGreaterThan(1);
	});

	it('and inside a transaction', async () => {
		const turns = await turnsDuring(async () => await driver.transaction(async (tx) => await tx.all('SELECT n, label FROM rows')));
		expect(turns).toBeGreaterThan(1);
	});
});
