/**
 * n8n in queue mode on one machine: a main process, workers and a webhook process sharing one user
 * folder (the package installed once), n8n's database on PostgreSQL, its queue on Redis, and the
 * retargeting store on PostgreSQL through the instance setting (RETARGETING_STORE_URL). Used by the
 * queue-mode tests, the queue benchmarks and `npm run start:queue`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Socket } from 'node:net';

import { Client } from 'pg';

import { run } from './exec.ts';
import { freePort, N8nInstance, type Owner } from './n8n.ts';
import { ensurePostgres, TEST_PG_URL } from './postgres.ts';

export interface QueueClusterOptions {
	userFolder: string;
	/** The n8n database: a PostgreSQL URL and the schema of n8n's own tables (created if missing). */
	databaseUrl?: string;
	n8nSchema: string;
	/** The retargeting store's schema, in the same database. */
	storeSchema: string;
	/** Keys in Redis (the queue, n8n's cache and pub/sub) start with it, so that several clusters share one server. */
	queuePrefix: string;
	encryptionKey?: string;
	workers?: number;
	/** Webhook processes (1 by default); each has its own port. */
	webhooks?: number;
	/** Executions one worker runs at once (n8n's default: 10). */
	concurrency?: number;
	/** Fixed ports (npm run start:queue); free ones when not given. */
	ports?: { main?: number; webhook?: number; workerHealth?: number[]; brokers?: number[] };
	output?: 'file' | 'inherit';
	/** More environment for every process. */
	env?: Record<string, string>;
	owner: Owner;
}

export const REDIS = { host: '127.0.0.1', port: Number(process.env.RETARGETING_TEST_REDIS_PORT ?? 6379) };

async function redisAnswers(): Promise<boolean> {
	return await new Promise((resolve) => {
		const socket = new Socket();
		const done = (ok: boolean) => {
			socket.destroy();
			resolve(ok);
		};
		socket.setTimeout(2000, () => done(false));
		socket.once('error', () => done(false));
		socket.connect(REDIS.port, REDIS.host, () => socket.write('PING\r\n'));
		socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
	});
}

/** Redis on 127.0.0.1:6379, started (as the project's machines start it) if it is installed but stopped. */
export async function ensureRedis(): Promise<void> {
	if (await redisAnswers()) return;
	if (existsSync('/usr/bin/redis-server')) {
		await run('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(REDIS.port), '--save', '', '--appendonly', 'no'], { quiet: true }).catch(() => undefined);
		for (let i = 0; i < 20 && !(await redisAnswers()); i++) await new Promise((r) => setTimeout(r, 250));
		if (await redisAnswers()) return;
	}
	throw new Error(`No Redis at ${REDIS.host}:${REDIS.port}. Install one (Debian: apt-get install redis-server) and start it.`);
}

export class QueueCluster {
	readonly main: N8nInstance;
	readonly webhooks: N8nInstance[];
	readonly workers: N8nInstance[];
	/** The environment every process shares: what a production deployment sets on each. */
	readonly env: Record<string, string>;

	constructor(main: N8nInstance, webhooks: N8nInstance[], workers: N8nInstance[], env: Record<string, string>) {
		this.main = main;
		this.webhooks = webhooks;
		this.workers = workers;
		this.env = env;
	}

	/** The first webhook process. */
	get webhook(): N8nInstance {
		return this.webhooks[0];
	}

	async stop(): Promise<void> {
		await Promise.all([...this.webhooks, ...this.workers].map((p) => p.stop()));
		await this.main.stop();
	}
}

/** The environment every process of the cluster shares. */
export function queueEnv(options: QueueClusterOptions): Record<string, string> {
	const db = new URL(options.databaseUrl ?? TEST_PG_URL);
	return {
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: REDIS.host,
		QUEUE_BULL_REDIS_PORT: String(REDIS.port),
		QUEUE_BULL_PREFIX: options.queuePrefix,
		// n8n also keeps its webhook cache and pub/sub in Redis: clusters sharing a server keep apart.
		N8N_REDIS_KEY_PREFIX: options.queuePrefix,
		N8N_CACHE_REDIS_KEY_PREFIX: `${options.queuePrefix}-cache`,
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: db.hostname,
		DB_POSTGRESDB_PORT: db.port || '5432',
		DB_POSTGRESDB_DATABASE: db.pathname.slice(1),
		DB_POSTGRESDB_USER: decodeURIComponent(db.username),
		DB_POSTGRESDB_PASSWORD: decodeURIComponent(db.password),
		DB_POSTGRESDB_SCHEMA: options.n8nSchema,
		N8N_ENCRYPTION_KEY: options.encryptionKey ?? randomBytes(24).toString('hex'),
		// Manual runs (the editor's, pinned ones) go to the workers too, as they always will in n8n 3.
		OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
		RETARGETING_STORE_URL: options.databaseUrl ?? TEST_PG_URL,
		RETARGETING_STORE_SCHEMA: options.storeSchema,
		...options.env,
	};
}

/** PostgreSQL and Redis answer, and n8n's schema exists (n8n creates its tables, not the schema). */
export async function prepareQueueServices(options: Pick<QueueClusterOptions, 'databaseUrl' | 'n8nSchema'>): Promise<void> {
	await ensurePostgres();
	await ensureRedis();
	const client = new Client({ connectionString: options.databaseUrl ?? TEST_PG_URL });
	await client.connect();
	try {
		await client.query(`CREATE SCHEMA IF NOT EXISTS "${options.n8nSchema}"`);
	} finally {
		await client.end();
	}
}

/** Starts main, then the workers and the webhook process at once; sets up the owner and an API key. */
export async function startQueueCluster(options: QueueClusterOptions): Promise<QueueCluster> {
	await prepareQueueServices(options);
	const env = queueEnv(options);
	const webhookPort = options.ports?.webhook || (await freePort());
	const base = { userFolder: options.userFolder, output: options.output ?? ('file' as const) };
	// The main serves the editor and the API; production webhooks go to the webhook process, as n8n's
	// docs ask of a load balancer (the main would serve them too unless told not to).
	const main = await N8nInstance.start({
		...base,
		port: options.ports?.main,
		brokerPort: options.ports?.brokers?.[0],
		logName: 'main.log',
		env: { ...env, WEBHOOK_URL: `http://localhost:${webhookPort}/`, N8N_DISABLE_PRODUCTION_MAIN_PROCESS: 'true' },
	});
	try {
		await main.setupOwner(options.owner);
		await main.createApiKey();
		const workers = Array.from({ length: options.workers ?? 2 }, async (_, i) =>
			await N8nInstance.start({
				...base,
				command: 'worker',
				args: [`--concurrency=${options.concurrency ?? 10}`],
				brokerPort: options.ports?.brokers?.[i + 1],
				logName: `worker-${i + 1}.log`,
				env: {
					...env,
					QUEUE_HEALTH_CHECK_ACTIVE: 'true',
					N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
					QUEUE_HEALTH_CHECK_PORT: String(options.ports?.workerHealth?.[i] || (await freePort())),
				},
			}),
		);
		const webhooks = Array.from({ length: options.webhooks ?? 1 }, async (_, i) =>
			await N8nInstance.start({ ...base, command: 'webhook', port: i === 0 ? webhookPort : await freePort(), logName: i === 0 ? 'webhook.log' : `webhook-${i + 1}.log`, env }),
		);
		const started = await Promise.allSettled([...webhooks, ...workers]);
		const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
		if (failed) {
			for (const s of started) if (s.status === 'fulfilled') await s.value.stop();
			throw failed.reason;
		}
		const processes = started.map((s) => (s as PromiseFulfilledResult<N8nInstance>).value);
		return new QueueCluster(main, processes.slice(0, webhooks.length), processes.slice(webhooks.length), env);
	} catch (error) {
		await main.stop();
		throw error;
	}
}
