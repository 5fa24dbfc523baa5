import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

import { PostgresDriver } from './postgres-driver';
import { SqliteDriver } from './sqlite-driver';
import { RetargetingStore } from './store';

export interface PostgresConnection {
	host: string;
	port: number;
	database: string;
	user: string;
	password: string;
	ssl: 'disable' | 'allow' | 'require';
	allowUnauthorizedCerts: boolean;
	schema: string;
}

/**
 * Where the embedded store lives: beside n8n's own database, in the folder n8n uses
 * (N8N_USER_FOLDER, else the home folder, then `.n8n`), unless RETARGETING_SQLITE_FILE says otherwise.
 */
export function embeddedStoreFile(env: Record<string, string | undefined> = process.env): string {
	return (
		env.RETARGETING_SQLITE_FILE ??
		path.join(env.N8N_USER_FOLDER ?? homedir(), '.n8n', 'retargeting', 'store.sqlite')
	);
}

/**
 * One store a database per process, shared by every node and execution: one SQLite connection
 * (whose queue keeps transactions apart) or one PostgreSQL pool, migrated once.
 */
const open = new Map<string, Promise<RetargetingStore>>();

async function cached(key: string, create: () => RetargetingStore): Promise<RetargetingStore> {
	let store = open.get(key);
	if (!store) {
		store = (async () => {
			const created = create();
			await created.migrate();
			return created;
		})();
		open.set(key, store);
		store.catch(() => open.delete(key));
	}
	return await store;
}

export async function openEmbeddedStore(file = embeddedStoreFile()): Promise<RetargetingStore> {
	refuseEmbeddedInQueueMode();
	return await cached(`sqlite:${file}`, () => {
		mkdirSync(path.dirname(file), { recursive: true });
		return new RetargetingStore(new SqliteDriver(file));
	});
}

function postgresDriver(c: PostgresConnection): PostgresDriver {
	return new PostgresDriver({
		host: c.host,
		port: c.port,
		database: c.database,
		user: c.user,
		password: c.password,
		ssl: c.ssl === 'disable' ? false : { rejectUnauthorized: !c.allowUnauthorizedCerts },
		schema: c.schema,
	});
}

/**
 * The store of the whole n8n instance, set once by environment variables on every n8n process (main,
 * workers, webhook processes): `RETARGETING_STORE_URL` (a postgres:// URL) selects PostgreSQL, in the
 * schema `RETARGETING_STORE_SCHEMA` (default `retargeting`); unset, the embedded store.
 */
export const INSTANCE_STORE_URL = 'RETARGETING_STORE_URL';
export const INSTANCE_STORE_SCHEMA = 'RETARGETING_STORE_SCHEMA';

/** A setting that keeps the store from opening: the message names the fix. */
export class StoreSetupError extends Error {}

/**
 * n8n's queue mode: the main process, workers (which set queue mode themselves, whatever the
 * environment says) and webhook processes each run executions of the same workflows.
 */
export function inQueueMode(env: Record<string, string | undefined> = process.env, argv: readonly string[] = process.argv): boolean {
	return env.EXECUTIONS_MODE === 'queue' || argv.slice(2).some((arg) => arg === 'worker' || arg === 'webhook');
}

/**
 * The embedded store is a file of one process: in queue mode each process would write its own, and
 * a worker would find nobody the webhook process stored. Refused there, before anything is written.
 */
export function refuseEmbeddedInQueueMode(env: Record<string, string | undefined> = process.env, argv: readonly string[] = process.argv): void {
	if (!inQueueMode(env, argv)) return;
	throw new StoreSetupError(
		`The embedded store cannot be used in n8n's queue mode: each n8n process would keep its own file. Set ${INSTANCE_STORE_URL}=postgres://user:password@host:5432/database on every n8n process (main, workers and webhook processes) and leave the node's Store on "Instance Default", or choose PostgreSQL in the node.`,
	);
}

/** The instance store when `RETARGETING_STORE_URL` is set, else undefined (the embedded one). */
export async function openInstanceStore(env: Record<string, string | undefined> = process.env): Promise<RetargetingStore | undefined> {
	const url = env[INSTANCE_STORE_URL]?.trim();
	if (!url) return undefined;
	if (!/^postgres(ql)?:\/\//i.test(url)) throw new StoreSetupError(`${INSTANCE_STORE_URL} must be a postgres:// URL, such as postgres://user:password@db:5432/n8n`);
	const schema = env[INSTANCE_STORE_SCHEMA]?.trim() || 'retargeting';
	const key = `pg-url:${createHash('sha256').update(url).digest('hex').slice(0, 16)}/${schema}`;
	return await cached(key, () => new RetargetingStore(new PostgresDriver({ connectionString: url, schema })));
}

export async function openPostgresStore(c: PostgresConnection): Promise<RetargetingStore> {
	const secret = createHash('sha256').update(c.password).digest('hex').slice(0, 16);
	const key = `pg:${c.user}@${c.host}:${c.port}/${c.database}/${c.schema}/${c.ssl}/${secret}`;
	return await cached(key, () => new RetargetingStore(postgresDriver(c)));
}

/** Connects once and closes again: whether the server answers, without creating or migrating anything. */
export async function pingPostgres(c: PostgresConnection): Promise<void> {
	const driver = postgresDriver(c);
	try {
		await driver.all('SELECT 1');
	} finally {
		await driver.close();
	}
}
