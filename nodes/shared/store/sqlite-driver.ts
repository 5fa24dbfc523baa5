import { DatabaseSync, type StatementSync } from 'node:sqlite';

import type { DriverLocation, SqlDriver, SqlValue } from './driver';
import { EventLoopSlice } from './event-loop-slice';

/**
 * How long the driver keeps n8n's event loop before it lets it take a turn. A read of a million
 * rows takes seconds here; read in slices, a webhook arriving meanwhile waits at most about this.
 */
const SLICE_MS = 20;

/** Rows read between two looks at the clock (reading 256 rows takes well under a millisecond). */
const ROWS_PER_LOOK = 256;

/** SQLITE_BUSY: another connection holds the write lock. */
function isBusy(error: unknown): boolean {
	return (error as { errcode?: number }).errcode === 5 || /database is locked/.test(String(error));
}

/**
 * The embedded backend: one SQLite file through Node's built-in `node:sqlite`. WAL lets readers
 * run beside the writer. node:sqlite is synchronous, so waiting for another writer inside SQLite
 * would freeze n8n's event loop (and deadlock with a writer in the same process): the busy timeout
 * stays short, and a transaction that finds the database locked retries after a timer instead.
 * synchronous = FULL syncs the WAL at every commit, so an acknowledged event survives a power loss
 * too; on the store bench here it cost about 4 % of append throughput against NORMAL.
 * Being synchronous, every call also runs on n8n's event loop: calls and the rows of a read go in
 * slices (EventLoopSlice), so that no call holds the loop for long however big the store is.
 */
export class SqliteDriver implements SqlDriver {
	readonly dialect = 'sqlite' as const;

	readonly location: DriverLocation;

	private readonly db: DatabaseSync;

	private readonly slice = new EventLoopSlice(SLICE_MS);

	private readonly statements = new Map<string, StatementSync>();

	/** node:sqlite is synchronous, but a transaction body awaits: calls queue so none interleaves. */
	private queue: Promise<unknown> = Promise.resolve();

	constructor(file: string) {
		this.location = { dialect: 'sqlite', file };
		this.db = new DatabaseSync(file);
		// Opening happens once per process: here SQLite may wait for another process that is
		// creating or migrating the file, before the short timeout for normal work applies.
		this.db.exec(`
			PRAGMA busy_timeout = 10000;
			PRAGMA journal_mode = WAL;
			PRAGMA synchronous = FULL;
			PRAGMA busy_timeout = 20;
			PRAGMA foreign_keys = ON;
			PRAGMA cache_size = -65536;
			PRAGMA temp_store = MEMORY;
			PRAGMA wal_autocheckpoint = 10000;
		`);
	}

	private statement(sql: string): StatementSync {
		let stmt = this.statements.get(sql);
		if (!stmt) {
			// Multi-row statements differ by row count; a bound keeps the cache from growing without end.
			if (this.statements.size >= 500) this.statements.clear();
			stmt = this.db.prepare(sql);
			this.statements.set(sql, stmt);
		}
		return stmt;
	}

	/** Runs `work` when the calls queued before it are done, and after the event loop's turn if one is due. */
	private serialized<T>(work: () => Promise<T> | T): Promise<T> {
		const paced = async () => {
			await this.slice.pause();
			return await work();
		};
		const next = this.queue.then(paced, paced);
		this.queue = next.catch(() => undefined);
		return next;
	}

	/**
	 * The rows of a query, stepped through with pauses for the event loop. The statement stays open
	 * across a pause; nothing else uses the connection meanwhile (the queue, or the transaction body
	 * awaiting this read, keeps other calls out).
	 */
	private async rows<T>(sql: string, params: SqlValue[]): Promise<T[]> {
		const rows: T[] = [];
		for (const row of this.statement(sql).iterate(...params)) {
			rows.push(row as T);
			if (rows.length % ROWS_PER_LOOK === 0) await this.slice.pause();
		}
		return rows;
	}

	/** The connection itself, for a transaction body that already holds the queue. */
	private direct(): SqlDriver {
		return {
			dialect: 'sqlite',
			all: async <T>(sql: string, params: SqlValue[] = []) => {
				await this.slice.pause();
				return await this.rows<T>(sql, params);
			},
			run: async (sql: string, params: SqlValue[] = []) => {
				await this.slice.pause();
				return Number(this.statement(sql).run(...params).changes);
			},
			exec: async (sql: string) => {
				await this.slice.pause();
				this.db.exec(sql);
			},
			transaction: async () => {
				throw new Error('nested transactions are not supported');
			},
			close: async () => undefined,
		};
	}

	async all<T = Record<string, unknown>>(sql: string, params: SqlValue[] = []): Promise<T[]> {
		return await this.serialized(async () => await this.rows<T>(sql, params));
	}

	async run(sql: string, params: SqlValue[] = []): Promise<number> {
		return await this.serialized(() => Number(this.statement(sql).run(...params).changes));
	}

	async exec(sql: string): Promise<void> {
		await this.serialized(() => this.db.exec(sql));
	}

	async transaction<T>(body: (tx: SqlDriver) => Promise<T>): Promise<T> {
		return await this.serialized(async () => {
			// IMMEDIATE takes the write lock now, so two processes cannot both read then both write.
			await this.begin();
			let committed = false;
			try {
				const result = await body(this.direct());
				this.db.exec('COMMIT');
				committed = true;
				return result;
			} finally {
				if (!committed) this.db.exec('ROLLBACK');
			}
		});
	}

	private async begin(timeoutMs = 30_000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
			const failure = this.tryBegin();
			if (!failure) return;
			if (!isBusy(failure) || Date.now() > deadline) {
				throw new Error(`The retargeting store could not start a transaction: ${String(failure)}`, { cause: failure });
			}
			await new Promise((resolve) => setTimeout(resolve, wait));
		}
	}

	/** The error BEGIN IMMEDIATE raised, or undefined when the write lock is ours. */
	private tryBegin(): unknown {
		try {
			this.db.exec('BEGIN IMMEDIATE');
			return undefined;
		} catch (error) {
			return error;
		}
	}

	async close(): Promise<void> {
		await this.serialized(() => this.db.close());
	}
}
