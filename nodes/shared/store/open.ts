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
