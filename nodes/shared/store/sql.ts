import type { SqlDriver, SqlValue } from './driver';

export function json(value: unknown): string {
	return JSON.stringify(value);
}

/** JSONB comes back parsed from PostgreSQL, TEXT as a string from SQLite. */
export function parsed<T>(value: unknown): T {
	return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/**
 * Makes the transactions that name the same `turn` run one after another across every process, so
 * that what one reads to decide (is this visitor known? is the cap reached?) still holds when it
 * writes. SQLite's write lock already orders every writing transaction; PostgreSQL would run them
 * side by side, so it takes an advisory lock until the transaction ends.
 */
export async function takeTurns(tx: SqlDriver, turn: string): Promise<void> {
	// Per schema: stores in other schemas of the same database do not wait for this one.
	if (tx.dialect === 'postgres') await tx.all("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':' || ?))", [turn]);
}

export function placeholders(n: number): string {
	return Array.from({ length: n }, () => '?').join(', ');
}

/** Rows per statement stay under both backends' limit on parameters (SQLite 32,766; PostgreSQL 65,535). */
const MAX_PARAMS = 30_000;

/** Values for an `IN (...)` list also stay short enough for SQLite's statement cache to reuse. */
const IN_CHUNK = 500;

/**
 * Inserts rows with multi-row VALUES statements: one round trip per chunk instead of one per row.
 * `head` is `INSERT INTO table (columns)`, `tail` an optional ON CONFLICT clause.
 */
export async function insertRows(db: SqlDriver, head: string, rows: SqlValue[][], tail = ''): Promise<void> {
	if (rows.length === 0) return;
	const columns = rows[0].length;
	const tuple = `(${placeholders(columns)})`;
	const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns));
	for (let i = 0; i < rows.length; i += perStatement) {
		const chunk = rows.slice(i, i + perStatement);
		await db.run(`${head} VALUES ${chunk.map(() => tuple).join(', ')} ${tail}`, chunk.flat());
	}
}

/**
 * Runs `SELECT ... WHERE <column> IN (values)` in chunks and returns every row. `sql` holds one
 * `(?*)` marker where the list goes; `before` are parameters that come ahead of the list.
 */
export async function selectIn<T>(db: SqlDriver, sql: string, values: SqlValue[], before: SqlValue[] = []): Promise<T[]> {
	const rows: T[] = [];
	const unique = [...new Set(values)];
	for (let i = 0; i < unique.length; i += IN_CHUNK) {
		const chunk = unique.slice(i, i + IN_CHUNK);
		rows.push(...(await db.all<T>(sql.replace('(?*)', `(${placeholders(chunk.length)})`), [...before, ...chunk])));
	}
	return rows;
}

/**
 * Before a merge moves the dropped profile's rows of `table` to the kept one: deletes those the kept
 * profile already has (the same `keys`), which would otherwise repeat or break the table's key.
 */
export async function dropRowsTheKeptHas(tx: SqlDriver, table: string, keys: string[], keepId: string, dropId: string): Promise<void> {
	const same = keys.map((key) => `k.${key} = ${table}.${key}`).join(' AND ');
	await tx.run(`DELETE FROM ${table} WHERE profile_id = ? AND EXISTS (SELECT 1 FROM ${table} k WHERE k.profile_id = ? AND ${same})`, [dropId, keepId]);
}
