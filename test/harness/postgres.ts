import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';

import { Client } from 'pg';

import { run } from './exec.ts';

/**
 * The PostgreSQL server the tests use: RETARGETING_TEST_PG_URL, or the machine's own server on
 * 127.0.0.1:5432 (trust auth, database `test`), which is started here if it is installed but stopped.
 */
export const TEST_PG_URL = process.env.RETARGETING_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function reachable(): Promise<boolean> {
	const client = new Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 3000 });
	try {
		await client.connect();
		await client.query('SELECT 1');
		return true;
	} catch {
		return false;
	} finally {
		await client.end().catch(() => undefined);
	}
}

export async function ensurePostgres(): Promise<void> {
	if (await reachable()) return;
	if (!process.env.RETARGETING_TEST_PG_URL && existsSync('/etc/postgresql')) {
		for (const version of readdirSync('/etc/postgresql')) {
			await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { quiet: true }).catch(
				() => undefined,
			);
		}
		for (let i = 0; i < 20 && !(await reachable()); i++) await new Promise((r) => setTimeout(r, 500));
		if (await reachable()) return;
	}
	throw new Error(
		`No PostgreSQL at ${TEST_PG_URL}. Start one (Debian: apt-get install postgresql) or point RETARGETING_TEST_PG_URL at a server.`,
	);
}

/** A schema of its own for one test file, so runs never see each other's rows. */
export function uniqueSchema(): string {
	return `rt_test_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
	const client = new Client({ connectionString: TEST_PG_URL });
	await client.connect();
	try {
		await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
	} finally {
		await client.end();
	}
}
