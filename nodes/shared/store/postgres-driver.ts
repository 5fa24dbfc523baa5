import { Pool, type PoolClient, type PoolConfig } from 'pg';

import type { SqlDriver, SqlValue } from './driver';

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

	private readonly pool: Pool;

	private readonly schema: string;

	constructor(options: PostgresOptions) {
		const { schema = 'retargeting', ...poolConfig } = options;
		if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
			throw new Error(`The schema name "${schema}" must be lower-case letters, digits and underscores`);
		}
		this.schema = schema;
		// Bounded waits: a dead connection or a lock held elsewhere fails the call (and the request is
		// answered) instead of leaving every later append of this process queued behind it.
		this.pool = new Pool({
			max: 4,
			connectionTimeoutMillis: 10_000,
			...poolConfig,
			options: `-c search_path=${schema} -c lock_timeout=30000 -c idle_in_transaction_session_timeout=60000`,
		});
	}

	private static over(client: Pool | PoolClient): Omit<SqlDriver, 'transaction' | 'close' | 'dialect'> {
		return {
			all: async <T>(sql: string, params: SqlValue[] = []) =>
				(await client.query(numbered(sql), params)).rows as T[],
			run: async (sql: string, params: SqlValue[] = []) =>
				(await client.query(numbered(sql), params)).rowCount ?? 0,
			exec: async (sql: string) => {
				await client.query(sql);
			},
		};
	}

	async all<T = Record<string, unknown>>(sql: string, params: SqlValue[] = []): Promise<T[]> {
		return await PostgresDriver.over(this.pool).all<T>(sql, params);
	}

	async run(sql: string, params: SqlValue[] = []): Promise<number> {
		return await PostgresDriver.over(this.pool).run(sql, params);
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
			const tx: SqlDriver = {
				dialect: 'postgres',
				...PostgresDriver.over(client),
				transaction: async () => {
					throw new Error('nested transactions are not supported');
				},
				close: async () => undefined,
			};
			const result = await body(tx);
			await client.query('COMMIT');
			committed = true;
			return result;
		} finally {
			if (!committed) await client.query('ROLLBACK').catch(() => undefined);
			client.release();
		}
	}

	async close(): Promise<void> {
		await this.pool.end();
	}
}
