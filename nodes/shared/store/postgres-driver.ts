import { Pool, type PoolClient, type PoolConfig } from 'pg';

import type { DriverLocation, SqlDriver, SqlValue } from './driver';

/** `?` placeholders to PostgreSQL's `$1, $2, ...` (the store's SQL has no `?` in literals). */
function numbered(sql: string): string {
	let n = 0;
	return sql.replace(/\?/g, () => `$${++n}`);
}

export interface PostgresOptions extends PoolConfig {
	/** The schema the store's tables live in; created if missing. */
	schema?: string;
}

/** The scale-out backend, for n8n in queue mode: every main and worker shares one database. */
export class PostgresDriver implements SqlDriver {
	readonly dialect = 'postgres' as const;

	readonly location: DriverLocation;

	private readonly pool: Pool;

	private readonly schema: string;

	constructor(options: PostgresOptions) {
		const { schema = 'retargeting', ...poolConfig } = options;
		if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
			throw new Error(`The schema name "${schema}" must be lower-case letters, digits and underscores`);
		}
		this.schema = schema;
		this.location = { dialect: 'postgres', options };
		// Bounded waits: a dead connection or a lock held elsewhere fails the call (and the request is
		// answered) instead of leaving every later append of this process queued behind it.
		this.pool = new Pool({
			max: 4,
			connectionTimeoutMillis: 10_000,
			...poolConfig,
			options: `-c search_path=${schema} -c lock_timeout=30000 -c idle_in_transaction_session_timeout=60000`,
		});
	}

	/** `onWrite` hears how many rows each `run` changed. */
	private static over(client: Pool | PoolClient, onWrite: (rows: number) => void): Omit<SqlDriver, 'transaction' | 'close' | 'dialect'> {
		return {
			all: async <T>(sql: string, params: SqlValue[] = []) =>
				(await client.query(numbered(sql), params)).rows as T[],
			run: async (sql: string, params: SqlValue[] = []) => {
				const rows = (await client.query(numbered(sql), params)).rowCount ?? 0;
				onWrite(rows);
				return rows;
			},
			exec: async (sql: string) => {
				await client.query(sql);
			},
		};
	}

	async all<T = Record<string, unknown>>(sql: string, params: SqlValue[] = []): Promise<T[]> {
		return await PostgresDriver.over(this.pool, this.wrote).all<T>(sql, params);
	}

	async run(sql: string, params: SqlValue[] = []): Promise<number> {
		return await PostgresDriver.over(this.pool, this.wrote).run(sql, params);
	}

	/** Rows this driver has changed, and the count at which it next looks at the statistics. */
	private written = 0;

	private nextStatistics = 1000;

	private statistics: Promise<void> = Promise.resolve();

	/**
	 * PostgreSQL plans the store's look-ups from the statistics that autovacuum keeps. A server run
	 * without autovacuum keeps the ones taken when the tables were empty, and the planner then scans
	 * every link of a kind for each batch's identity look-up (8 ms instead of 0.2 ms at 30,000 people).
	 * There the store analyzes its own tables, each time this process has doubled what it wrote; the
	 * shares PostgreSQL keeps (distinct values as a fraction of the rows) stay valid as tables grow.
	 */
	private readonly wrote = (rows: number): void => {
		this.written += rows;
		if (this.written < this.nextStatistics) return;
		this.nextStatistics = this.written * 2;
		// A role that may not analyze the tables leaves the statistics as they were: nothing else changes.
		this.statistics = this.statistics.then(async () => await this.analyzeWithoutAutovacuum()).catch(() => undefined);
	};

	private autovacuum: Promise<boolean> | undefined;

	private async analyzeWithoutAutovacuum(): Promise<void> {
		this.autovacuum ??= this.pool.query<{ on: boolean }>("SELECT current_setting('autovacuum') = 'on' AS on").then(
			(r) => r.rows[0].on,
			(error: unknown) => {
				this.autovacuum = undefined;
				throw error;
			},
		);
		if (await this.autovacuum) return;
		// The store's own tables only: the schema may be shared (public).
		const { rows } = await this.pool.query<{ name: string }>(
			"SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'rt\\_%'",
			[this.schema],
		);
		if (rows.length) await this.pool.query(`ANALYZE ${rows.map((r) => r.name).join(', ')}`);
	}

	/** The schema is created on first use, before the migrations' first table. */
	private schemaReady: Promise<unknown> | undefined;

	private async ensureSchema(): Promise<void> {
		this.schemaReady ??= this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`).catch((error: unknown) => {
			this.schemaReady = undefined;
			throw error;
		});
		await this.schemaReady;
	}

	async exec(sql: string): Promise<void> {
		await this.ensureSchema();
		await this.pool.query(sql);
	}

	async transaction<T>(body: (tx: SqlDriver) => Promise<T>): Promise<T> {
		await this.ensureSchema();
		const client = await this.pool.connect();
		let committed = false;
		try {
			await client.query('BEGIN');
			let written = 0;
			const tx: SqlDriver = {
				dialect: 'postgres',
				...PostgresDriver.over(client, (rows) => (written += rows)),
				transaction: async () => {
					throw new Error('nested transactions are not supported');
				},
				close: async () => undefined,
			};
			const result = await body(tx);
			await client.query('COMMIT');
			committed = true;
			this.wrote(written);
			return result;
		} finally {
			if (!committed) await client.query('ROLLBACK').catch(() => undefined);
			client.release();
		}
	}

	async close(): Promise<void> {
		await this.statistics;
		await this.pool.end();
	}
}
