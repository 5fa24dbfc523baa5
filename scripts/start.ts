/**
 * `npm start`: the main job. A real n8n with this package installed as a community package and the
 * ready-made workflows imported, on the embedded store, at http://localhost:5678. Ctrl-C stops it.
 *
 * `npm run start:queue` (`npm start -- --queue`): the same in n8n's queue mode: a main, two workers
 * and a webhook process on the machine's PostgreSQL and Redis, the store on PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';

import { N8nInstance, type Owner, type StartOptions } from '../test/harness/n8n.ts';
import { installPackageInto, packPackage } from '../test/harness/package-install.ts';
import { repoRoot } from '../test/harness/paths.ts';
import { TEST_PG_URL } from '../test/harness/postgres.ts';
import { type QueueClusterOptions, prepareQueueServices, queueEnv, startQueueCluster } from '../test/harness/queue.ts';

const root = repoRoot();
const queue = process.argv.includes('--queue');
const userFolder = path.resolve(process.env.RETARGETING_DATA_DIR ?? path.join(root, queue ? '.n8n-queue-data' : '.n8n-data'));
const port = Number(process.env.N8N_PORT ?? 5678);
const options: StartOptions = {
	userFolder,
	port,
	listenAddress: process.env.N8N_LISTEN_ADDRESS ?? '127.0.0.1',
	output: 'inherit',
};

function say(message: string): void {
	process.stdout.write(`\n[retargeting] ${message}\n`);
}

/** The owner account of this data folder: made once with a random password, kept beside n8n's data. */
function ownerAccount(): Owner {
	const file = path.join(userFolder, 'owner.json');
	if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Owner;
	const owner: Owner = {
		email: process.env.RETARGETING_OWNER_EMAIL ?? 'admin@retargeting.local',
		password: `Rt-${randomBytes(9).toString('base64url')}9`,
		firstName: 'Retargeting',
		lastName: 'Admin',
	};
	writeFileSync(file, JSON.stringify(owner, null, 2), { mode: 0o600 });
	return owner;
}

/**
 * Imports the ready-made workflows this data folder has not seen yet. A template is imported once,
 * so later starts keep the edits made to it in the editor.
 */
async function importNewTemplates(): Promise<string[]> {
	const ledger = path.join(userFolder, 'imported-templates.json');
	const seen = new Set<string>(existsSync(ledger) ? (JSON.parse(readFileSync(ledger, 'utf8')) as string[]) : []);
	const templatesDir = path.join(root, 'workflows');
	const fresh = readdirSync(templatesDir)
		.filter((file) => file.endsWith('.json'))
		.map((file) => ({ file, id: (JSON.parse(readFileSync(path.join(templatesDir, file), 'utf8')) as { id: string }).id }))
		.filter(({ id }) => !seen.has(id));
	if (fresh.length === 0) return [];
	const staging = mkdtempSync(path.join(userFolder, 'import-'));
	try {
		for (const { file } of fresh) copyFileSync(path.join(templatesDir, file), path.join(staging, file));
		await N8nInstance.cli(queue ? { ...options, env: queueEnv(queueOptions()) } : options, ['import:workflow', '--separate', `--input=${staging}`]);
	} finally {
		rmSync(staging, { recursive: true, force: true });
	}
	for (const { id } of fresh) seen.add(id);
	writeFileSync(ledger, JSON.stringify([...seen], null, 2));
	return fresh.map(({ file }) => file);
}

/** A key made once for this data folder: every process of the cluster must share it. */
function encryptionKey(): string {
	const file = path.join(userFolder, 'encryption.key');
	if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('hex'), { mode: 0o600 });
	return readFileSync(file, 'utf8').trim();
}

/**
 * The cluster of `start:queue`, on the machine's PostgreSQL (RETARGETING_STORE_URL, else the test
 * server) and Redis: n8n's tables in the schema `n8n`, the store in `retargeting`, fixed ports.
 */
function queueOptions(): QueueClusterOptions {
	return {
		userFolder,
		databaseUrl: process.env.RETARGETING_STORE_URL ?? TEST_PG_URL,
		n8nSchema: process.env.DB_POSTGRESDB_SCHEMA ?? 'n8n',
		storeSchema: process.env.RETARGETING_STORE_SCHEMA ?? 'retargeting',
		queuePrefix: 'retargeting',
		encryptionKey: encryptionKey(),
		workers: 2,
		ports: { main: port, webhook: port + 2, workerHealth: [port + 3, port + 4], brokers: [port + 1, port + 5, port + 6] },
		output: 'file',
		owner: ownerAccount(),
	};
}

async function startQueue(): Promise<void> {
	await prepareQueueServices(queueOptions());
	const imported = await importNewTemplates();
	if (imported.length) say(`imported workflows: ${imported.join(', ')}`);
	say(`starting n8n in queue mode: a main, 2 workers and a webhook process (data and logs in ${userFolder})`);
	const cluster = await startQueueCluster(queueOptions());
	const processes = [cluster.main, cluster.webhook, ...cluster.workers];
	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		say('stopping every n8n process');
		await cluster.stop();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop());
	process.on('SIGTERM', () => void stop());
	for (const p of processes) {
		p.onExit(() => {
			if (!stopping) say(`an n8n process exited: see ${p.logFile}`);
		});
	}
	const owner = queueOptions().owner;
	say(
		[
			`n8n ${cluster.main.runtime.version} is ready in queue mode with n8n-nodes-retargeting installed.`,
			`  Editor (main):     ${cluster.main.baseUrl}`,
			`  Webhooks:          ${cluster.webhook.baseUrl}/webhook/<path>   (route /webhook/ here, the rest to main)`,
			`  Workers (health):  ${cluster.workers.map((w) => `${w.baseUrl}/healthz`).join('  ')}`,
			`  Store:             PostgreSQL, schema ${cluster.env.RETARGETING_STORE_SCHEMA}; n8n's tables in ${cluster.env.DB_POSTGRESDB_SCHEMA}; queue on Redis`,
			`  Email:    ${owner.email}`,
			`  Password: ${owner.password}   (kept in ${path.join(userFolder, 'owner.json')})`,
			'Press Ctrl-C to stop them all.',
		].join('\n'),
	);
}

async function main(): Promise<void> {
	mkdirSync(userFolder, { recursive: true });
	say('packing the package and installing it into n8n as a community package');
	const tarball = await packPackage(path.join(userFolder, 'package'));
	await installPackageInto(userFolder, tarball);
	if (queue) return await startQueue();
	const imported = await importNewTemplates();
	if (imported.length) say(`imported workflows: ${imported.join(', ')}`);

	say(`starting n8n (data in ${userFolder})`);
	const n8n = await N8nInstance.start(options);
	const owner = ownerAccount();
	await n8n.setupOwner(owner);

	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		say('stopping n8n');
		await n8n.stop();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop());
	process.on('SIGTERM', () => void stop());
	n8n.onExit(() => {
		if (!stopping) {
			say('n8n exited');
			process.exit(1);
		}
	});

	say(
		[
			`n8n ${n8n.runtime.version} is ready with n8n-nodes-retargeting installed.`,
			`  Editor:   ${n8n.baseUrl}`,
			`  Email:    ${owner.email}`,
			`  Password: ${owner.password}   (kept in ${path.join(userFolder, 'owner.json')})`,
			'Press Ctrl-C to stop.',
		].join('\n'),
	);
}

main().catch((error: unknown) => {
	process.stderr.write(`\n[retargeting] npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
	process.exit(1);
});
