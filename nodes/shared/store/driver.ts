import type { PostgresOptions } from './postgres-driver';

export type Dialect = 'sqlite' | 'postgres';

export type SqlValue = string | number | null;

/** What another thread needs to open the same database: the SQLite file, or PostgreSQL's connection settings. */
export type DriverLocation = { dialect: 'sqlite'; file: string } | { dialect: 'postgres'; options: PostgresOptions };

/**
 * The few operations the store needs from a database, so that one store implementation runs on
 * SQLite and PostgreSQL. SQL is written once with `?` placeholders; a driver adapts it.
 */
export interface SqlDriver {
	readonly dialect: Dialect;
	/** Where a worker thread opens the same database; none for a transaction's connection. */
	readonly location?: DriverLocation;
	all<T = Record<string, unknown>>(sql: string, params?: SqlValue[]): Promise<T[]>;
	run(sql: string, params?: SqlValue[]): Promise<number>;
	/** Runs several statements, without parameters (schema changes). */
	exec(sql: string): Promise<void>;
	/** Runs `body` in one transaction: all of it is applied, or none. */
	transaction<T>(body: (tx: SqlDriver) => Promise<T>): Promise<T>;
	close(): Promise<void>;
}
