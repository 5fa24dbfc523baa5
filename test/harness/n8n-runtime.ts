import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { run } from './exec.ts';
import { cacheDir, nodeRuntime } from './paths.ts';

/**
 * The n8n release the tests and `npm start` run. 2.41.1 is the newest 2.x whose whole dependency
 * tree resolves from the registry here (2.41.3 needs @n8n/agents@0.26.2, which is not published).
 */
export const N8N_VERSION = process.env.RETARGETING_N8N_VERSION ?? '2.41.1';

export interface N8nRuntime {
	version: string;
	/** n8n's CLI entry point, to run with the Node.js that runs us. */
	bin: string;
	dir: string;
}

const READY_MARK = '.ready';

function log(message: string): void {
	process.stderr.write(`[n8n runtime] ${message}\n`);
}

/**
 * Installs n8n once into the cache and reuses it afterwards. Install scripts stay off (one of them,
 * in @confluentinc/kafka-javascript, downloads sources from the internet); the only native module
 * n8n needs here, sqlite3, is then built from source against the running Node's headers.
 */
export async function ensureN8nRuntime(): Promise<N8nRuntime> {
	const node = nodeRuntime();
	if (node.major < 24) {
		throw new Error(
			`n8n ${N8N_VERSION} needs Node.js 24 or later, but this is ${process.versions.node}. Run through npm (npm test, npm start), which uses the Node 24 that npm install brought.`,
		);
	}
	const dir = path.join(cacheDir(), `n8n-${N8N_VERSION}`);
	const runtime: N8nRuntime = {
		version: N8N_VERSION,
		dir,
		bin: path.join(dir, 'node_modules', 'n8n', 'bin', 'n8n'),
	};
	const mark = path.join(dir, READY_MARK);
	if (existsSync(mark) && readFileSync(mark, 'utf8').trim() === `${N8N_VERSION} node${node.major}`) {
		return runtime;
	}
	mkdirSync(cacheDir(), { recursive: true });
	await withLock(`${dir}.lock`, async () => {
		if (existsSync(mark)) return;
		mkdirSync(dir, { recursive: true });
		writeFileSync(
			path.join(dir, 'package.json'),
			JSON.stringify({ name: 'n8n-runtime', private: true, dependencies: { n8n: N8N_VERSION } }, null, 2),
		);
		const env = { ...process.env, PATH: `${node.binDir}${path.delimiter}${process.env.PATH ?? ''}` };
		let started = Date.now();
		log(`installing n8n ${N8N_VERSION} into ${dir} (a few minutes, about 2.8 GB; done once)`);
		await run(
			'npm',
			['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', '--no-package-lock'],
			{ cwd: dir, env, quiet: true },
		);
		log(`n8n installed in ${Math.round((Date.now() - started) / 1000)} s; building sqlite3 for Node ${node.major}`);
		started = Date.now();
		await run('npm', ['rebuild', 'sqlite3', '--ignore-scripts=false', '--loglevel=error'], {
			cwd: dir,
			env: { ...env, npm_config_nodedir: node.root },
			quiet: true,
		});
		await run(process.execPath, ['-e', "require('sqlite3')"], { cwd: dir, quiet: true });
		log(`sqlite3 built in ${Math.round((Date.now() - started) / 1000)} s`);
		writeFileSync(mark, `${N8N_VERSION} node${node.major}\n`);
	});
	return runtime;
}

/** A cross-process lock (an atomic mkdir), so that parallel runs install n8n only once. */
async function withLock(lockDir: string, body: () => Promise<void>): Promise<void> {
	const staleAfterMs = 30 * 60 * 1000;
	for (;;) {
		try {
			mkdirSync(lockDir, { recursive: false });
			break;
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
			const { mtimeMs } = statSync(lockDir);
			if (Date.now() - mtimeMs > staleAfterMs) rmSync(lockDir, { recursive: true, force: true });
			else await new Promise((resolve) => setTimeout(resolve, 2000));
		}
	}
	try {
		await body();
	} finally {
		rmSync(lockDir, { recursive: true, force: true });
	}
}
