/**
 * `npm run bench` (queue-mode part): one real n8n cluster in queue mode (main, 2 workers, 2 webhook
 * processes on the machine's PostgreSQL and Redis, the retargeting store on PostgreSQL), with the
 * packed package installed once in the shared user folder. Measured in the same run:
 *  - ingest: the Tracking Trigger, collect-only (no execution), batches of 100 events, CALLERS
 *    concurrent keep-alive clients sending to ONE webhook process, against the same clients
 *    spreading their requests round-robin over TWO; ROUNDS interleaved rounds of SECONDS each
 *    (BENCH_QUEUE_ROUNDS, BENCH_QUEUE_SECONDS), totals. The events stored must equal those acknowledged.
 *  - emails: Webhook (answers at once) → Split Out → ESP Send over SMTP to a local SMTP server that
 *    answers at once. EXECUTIONS requests of BENCH_QUEUE_PER_EXECUTION people each are sent at once,
 *    so that the executions queue up in Redis and the workers share them; emails/s is the emails
 *    the SMTP server received from the first request to the last message. With TWO workers, then
 *    ONE (the second stopped), then TWO (it restarted), then ONE: two runs, each reported, and the
 *    ratio of their totals. Every round uses its own step, so every idempotency key is new; the
 *    bench checks that each person got exactly one email a round and that the store marks it sent.
 * The people are stored first through the Tracking Trigger: identify events with email consent.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Client } from 'pg';

import { TEST_OWNER } from '../harness/instance.ts';
import { freePort, N8nInstance, splitOutNode, trackingTriggerNode, webhookNode } from '../harness/n8n.ts';
import { ensureN8nRuntime } from '../harness/n8n-runtime.ts';
import { installPackageInto, packPackage } from '../harness/package-install.ts';
import { repoRoot } from '../harness/paths.ts';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../harness/postgres.ts';
import { type QueueCluster, REDIS, startQueueCluster } from '../harness/queue.ts';
import { TestSmtpServer } from '../harness/smtp.ts';

const SECONDS = Number(process.env.BENCH_QUEUE_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_QUEUE_ROUNDS ?? 3);
const CALLERS = 8;
const BATCH = 100;
const PER_EXECUTION = Number(process.env.BENCH_QUEUE_PER_EXECUTION ?? 100);
const EMAILS = Number(process.env.BENCH_QUEUE_EMAILS ?? 2_000);
const EXECUTIONS = Math.ceil(EMAILS / PER_EXECUTION);
/** Executions one worker runs at once (n8n's default). */
const CONCURRENCY = 10;
const ROUND_TIMEOUT_MS = 120_000;
const WRITE_KEY = `wk_${randomBytes(16).toString('hex')}`;
const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;

const fmt = (n: number) => Math.round(n).toLocaleString('en');
const note = (line: string) => process.stderr.write(`[bench] ${line}\n`);

let sequence = 0;
const view = () => ({
	type: 'track',
	event: 'Product Viewed',
	messageId: randomUUID(),
	anonymousId: `visitor-${++sequence % 5000}`,
	properties: { product_id: `sku-${sequence % 300}`, price: 19.9, currency: 'EUR' },
	context: { page: { url: `https://shop.test/p/${sequence % 300}?utm_source=news` } },
});

interface Ingest {
	name: string;
	urls: string[];
	requests: number;
	acknowledged: number;
	seconds: number;
}

/** CALLERS clients send batches back to back for `seconds`, each request to the next URL in turn. */
async function load(s: Ingest, seconds: number): Promise<void> {
	const deadline = performance.now() + seconds * 1000;
	const started = performance.now();
	let next = 0;
	const caller = async () => {
		while (performance.now() < deadline) {
			const url = s.urls[next++ % s.urls.length];
			const res = await fetch(url, {
				method: 'POST',
				headers: { 'content-type': 'application/json', authorization: auth },
				body: JSON.stringify({ batch: Array.from({ length: BATCH }, view) }),
			});
			const text = await res.text();
			if (res.status !== 200) throw new Error(`${s.name}: HTTP ${res.status} ${text}`);
			s.requests++;
			s.acknowledged += (JSON.parse(text) as { accepted: number }).accepted;
		}
	};
	await Promise.all(Array.from({ length: CALLERS }, caller));
	s.seconds += (performance.now() - started) / 1000;
}

/** How many executions a worker's log says it started so far. */
function startedBy(worker: N8nInstance): number {
	return [...readFileSync(worker.logFile!, 'utf8').matchAll(/Worker started execution \d+/g)].length;
}

/**
 * Where the CPU went during a phase, from /proc (Linux): each n8n process of the cluster with the
 * processes it started (its task runner), PostgreSQL (every backend on the server, so also other
 * users of it), Redis, this process (the clients and the SMTP server), and the rest of the machine.
 */
const TICKS = 100; // USER_HZ on Linux
type Ticks = Map<number, { ppid: number; comm: string; ticks: number }>;
function processTicks(): Ticks {
	const all: Ticks = new Map();
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			const close = stat.lastIndexOf(')');
			const fields = stat.slice(close + 2).split(' ');
			all.set(Number(entry), { comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
		} catch {
			// ended while we looked
		}
	}
	return all;
}
function machineTicks(): { busy: number; all: number } {
	const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
	const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number);
	const all = user + nice + system + idle + iowait + irq + softirq + steal;
	return { busy: all - idle - iowait, all };
}
/** The PID of each named n8n process: the bench's child whose port (N8N_PORT, or a worker's health port) is the instance's. */
function pidsOf(instances: Record<string, N8nInstance>): Record<string, number> {
	const pids: Record<string, number> = {};
	for (const [pid, p] of processTicks()) {
		if (p.ppid !== process.pid) continue;
		let environ: string[];
		try {
			environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
		} catch {
			continue;
		}
		const value = (name: string) => environ.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
		const port = value('QUEUE_HEALTH_CHECK_ACTIVE') === 'true' ? value('QUEUE_HEALTH_CHECK_PORT') : value('N8N_PORT');
		for (const [name, instance] of Object.entries(instances)) if (new URL(instance.baseUrl).port === port) pids[name] = pid;
	}
	return pids;
}
class CpuMeter {
	private readonly spent = new Map<string, number>();
	private seconds = 0;
	private machine = { busy: 0, all: 0 };
	private readonly pids: () => Record<string, number>;
	constructor(pids: () => Record<string, number>) {
		this.pids = pids;
	}
	/** Runs `phase` and adds the CPU each process spent meanwhile. */
	async measure<T>(phase: () => Promise<T>): Promise<T> {
		const before = processTicks();
		const machineBefore = machineTicks();
		const t0 = performance.now();
		const result = await phase();
		this.seconds += (performance.now() - t0) / 1000;
		const after = processTicks();
		const machineAfter = machineTicks();
		this.machine.busy += machineAfter.busy - machineBefore.busy;
		this.machine.all += machineAfter.all - machineBefore.all;
		const delta = (pid: number) => (after.get(pid)?.ticks ?? 0) - (before.get(pid)?.ticks ?? 0);
		const subtree = (root: number): number => {
			let sum = delta(root);
			for (const [pid, p] of after) if (p.ppid === root) sum += subtree(pid);
			return sum;
		};
		const add = (name: string, ticks: number) => this.spent.set(name, (this.spent.get(name) ?? 0) + ticks);
		for (const [name, pid] of Object.entries(this.pids())) add(name, subtree(pid));
		for (const [pid, p] of after) {
			if (p.comm === 'postgres') add('PostgreSQL', delta(pid));
			else if (p.comm.startsWith('redis-server')) add('Redis', delta(pid));
		}
		add('bench process (clients, SMTP server)', delta(process.pid));
		return result;
	}
	/** "name N%" for each, in % of one core, then the rest of the machine's busy time. */
	report(): string {
		const pct = (ticks: number) => `${Math.round((ticks / TICKS / this.seconds) * 100)}%`;
		const ours = [...this.spent.values()].reduce((a, b) => a + b, 0);
		const parts = [...this.spent].map(([name, ticks]) => `${name} ${pct(ticks)}`);
		return `${parts.join(', ')}, other processes ${pct(Math.max(0, this.machine.busy - ours))}; machine ${Math.round((this.machine.busy / this.machine.all) * 100)}% busy`;
	}
}

/** Deletes the cluster's keys in Redis (its queue, n8n's cache): every key starting with `prefix`. */
async function dropRedisKeys(prefix: string): Promise<void> {
	const script = "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) n = n + 1 end return n";
	const args = ['EVAL', script, '0', `${prefix}*`];
	const command = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
	await new Promise<void>((resolve, reject) => {
		const socket = new Socket();
		socket.setTimeout(5000, () => socket.destroy(new Error('Redis did not answer')));
		socket.once('error', reject);
		socket.once('data', (data) => {
			socket.destroy();
			if (data.toString().startsWith(':')) resolve();
			else reject(new Error(`Redis answered ${data.toString().trim()}`));
		});
		socket.connect(REDIS.port, REDIS.host, () => socket.write(command));
	});
}

async function main(): Promise<void> {
	const benchStarted = performance.now();
	await ensureN8nRuntime();
	const tarball = await packPackage(path.join(repoRoot(), '.test-runs', 'package'));
	const userFolder = mkdtempSync(path.join(repoRoot(), '.test-runs', 'queue-bench-'));
	const n8nSchema = uniqueSchema();
	const storeSchema = uniqueSchema();
	const smtp = new TestSmtpServer();
	const db = new Client({ connectionString: TEST_PG_URL });
	const queuePrefix = `rt-bench-${randomBytes(4).toString('hex')}`;
	let cluster: QueueCluster | undefined;
	/** The second worker once restarted (the cluster's own is stopped for the one-worker rounds). */
	let restarted: N8nInstance | undefined;
	let cleaned = false;
	const cleanUp = async () => {
		if (cleaned) return;
		cleaned = true;
		await restarted?.stop().catch(() => undefined);
		await cluster?.stop().catch(() => undefined);
		await smtp.stop().catch(() => undefined);
		await db.end().catch(() => undefined);
		await dropSchema(n8nSchema).catch(() => undefined);
		await dropSchema(storeSchema).catch(() => undefined);
		await dropRedisKeys(queuePrefix).catch((error: unknown) => note(`could not remove the Redis keys ${queuePrefix}*: ${String(error)}`));
		if (!process.env.RETARGETING_KEEP_RUNS) rmSync(userFolder, { recursive: true, force: true });
	};
	// Ctrl-C: the n8n processes run in process groups of their own and would outlive us.
	const interrupted = () => void cleanUp().finally(() => process.exit(130));
	process.once('SIGINT', interrupted);
	process.once('SIGTERM', interrupted);
	try {
		const smtpPort = await smtp.start();
		await installPackageInto(userFolder, tarball);
		const t0 = performance.now();
		cluster = await startQueueCluster({
			userFolder,
			n8nSchema,
			storeSchema,
			queuePrefix,
			owner: TEST_OWNER,
			workers: 2,
			webhooks: 2,
			concurrency: CONCURRENCY,
		});
		note(`cluster (main, 2 workers, 2 webhook processes) ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
		await db.connect();
		const count = async (sql: string, params: unknown[] = []) =>
			Number((await db.query<{ n: string }>(sql.replaceAll('$store', `"${storeSchema}"`), params)).rows[0].n);
		const { main: n8n, webhooks } = cluster;
		let secondWorker: N8nInstance = cluster.workers[1];
		const instances = () => pidsOf({ main: n8n, 'webhook 1': webhooks[0], 'webhook 2': webhooks[1], 'worker 1': cluster!.workers[0], 'worker 2': secondWorker });
		const cpu = { one: new CpuMeter(instances), two: new CpuMeter(instances), emailsTwo: new CpuMeter(instances), emailsOne: new CpuMeter(instances) };

		// Collect-only: the trigger stores the events and starts no execution.
		const source = await n8n.createCredential('retargetingTrackingApi', 'Bench source', { writeKey: WRITE_KEY });
		await n8n.publishWorkflow({
			name: 'Collect',
			nodes: [
				trackingTriggerNode('collect', { id: source, name: 'Bench source' }, { triggerOn: [] }),
			],
			connections: {},
		});
		const mail = await n8n.createCredential('retargetingSmtpApi', 'Bench mail', { host: '127.0.0.1', port: smtpPort, secure: false });
		const sendWorkflow = await n8n.publishWorkflow({
			name: 'Send',
			nodes: [
				webhookNode('send', 'onReceived'),
				splitOutNode('body.people'),
				{
					id: randomUUID(),
					name: 'ESP Send',
					type: 'n8n-nodes-retargeting.espSend',
					typeVersion: 1,
					position: [440, 0],
					parameters: {
						provider: 'smtp',
						personIdKind: 'email',
						personField: 'email',
						fromEmail: 'shop@example.com',
						subject: '{first_name}, your cart',
						html: '<p>{first_name}, your cart is waiting.</p>',
						unsubscribeLink: 'custom',
						unsubscribeUrl: 'https://shop.example/u/{profile_id}',
						campaign: 'queue-bench',
						// The item's `step` (the round) is part of the default idempotency key: new keys each round.
						options: { capMax: 0 },
					},
					credentials: { retargetingSmtpApi: { id: mail, name: 'Bench mail' } },
				},
			],
			connections: {
				Webhook: { main: [[{ node: 'Split Out', type: 'main', index: 0 }]] },
				'Split Out': { main: [[{ node: 'ESP Send', type: 'main', index: 0 }]] },
			},
		});
		for (const w of webhooks) {
			await w.waitForWebhook('collect');
			await w.waitForWebhook('send');
		}

		// 1. Ingest: one webhook process against two, same clients, interleaved rounds.
		const url = (w: N8nInstance) => `${w.baseUrl}/webhook/collect`;
		const one: Ingest = { name: 'one webhook process', urls: [url(webhooks[0])], requests: 0, acknowledged: 0, seconds: 0 };
		const two: Ingest = { name: 'two webhook processes', urls: webhooks.map(url), requests: 0, acknowledged: 0, seconds: 0 };
		let acknowledged = 0;
		for (const s of [one, two]) {
			const warmUp = { ...s, requests: 0, acknowledged: 0, seconds: 0 };
			await load(warmUp, 1);
			acknowledged += warmUp.acknowledged;
		}
		const rate = (s: Ingest) => s.acknowledged / s.seconds;
		for (let round = 0; round < ROUNDS; round++) {
			// Alternate which goes first, so that drift on a shared machine hits both alike.
			for (const s of round % 2 ? [two, one] : [one, two]) {
				const before = { ...s };
				await (s === one ? cpu.one : cpu.two).measure(() => load(s, SECONDS));
				note(`ingest round ${round + 1}, ${s.name}: ${fmt((s.acknowledged - before.acknowledged) / (s.seconds - before.seconds))} events/s`);
			}
		}
		acknowledged += one.acknowledged + two.acknowledged;
		// The store is new (its tables are made by the first event): every event in it came from these loads.
		const stored = await count('SELECT COUNT(*) AS n FROM $store.rt_events');
		if (stored !== acknowledged) throw new Error(`the store holds ${stored} events, but ${acknowledged} were acknowledged`);

		// 2. Emails: the people, stored with email consent through the Tracking Trigger.
		const people = Array.from({ length: EMAILS }, (_, i) => ({
			type: 'identify',
			anonymousId: `buyer-${i}`,
			traits: { email: `buyer${i}@example.com`, first_name: `Ada ${i}` },
			context: { consent: { email: true } },
		}));
		for (let i = 0; i < people.length; i += 500) {
			const answer = await webhooks[0].track('collect', WRITE_KEY, people.slice(i, i + 500));
			if (answer.accepted !== Math.min(500, people.length - i)) throw new Error(`identify batch: ${JSON.stringify(answer)}`);
		}

		let step = 0;
		let requested = 0;
		/** EXECUTIONS requests at once; the emails/s the SMTP server saw, and how the workers shared the executions. */
		const emailRound = async (workers: N8nInstance[], emails: number): Promise<{ rate: number; split: number[] }> => {
			step++;
			const executions = Math.ceil(emails / PER_EXECUTION);
			requested += executions;
			smtp.messages.length = 0;
			const startedBefore = workers.map(startedBy);
			const started = performance.now();
			const answers = await Promise.all(
				Array.from({ length: executions }, async (_, e) => {
					const body = { people: Array.from({ length: Math.min(PER_EXECUTION, emails - e * PER_EXECUTION) }, (_, i) => ({ email: `buyer${e * PER_EXECUTION + i}@example.com`, step })) };
					const res = await webhooks[0].webhook('send', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
					return `${res.status} ${await res.text()}`;
				}),
			);
			const refused = answers.find((a) => !a.startsWith('200'));
			if (refused) throw new Error(`the send webhook answered ${refused}`);
			const deadline = Date.now() + ROUND_TIMEOUT_MS;
			while (smtp.messages.length < emails) {
				if (Date.now() > deadline) throw new Error(`${smtp.messages.length} of ${emails} emails arrived in ${ROUND_TIMEOUT_MS / 1000} s`);
				await sleep(10);
			}
			const seconds = (performance.now() - started) / 1000;
			// Every execution has confirmed its sends in the store before the next round starts.
			for (;;) {
				const sent = await count("SELECT COUNT(*) AS n FROM $store.rt_sends WHERE step = $1 AND status = 'sent'", [step]);
				if (sent === emails) break;
				if (Date.now() > deadline) throw new Error(`round ${step}: ${sent} of ${emails} sends confirmed in the store`);
				await sleep(100);
			}
			const recipients = smtp.messages.map((m) => m.to.join(','));
			if (recipients.length !== emails || new Set(recipients).size !== emails) {
				throw new Error(`round ${step}: ${recipients.length} emails to ${new Set(recipients).size} people, expected ${emails} to ${emails}`);
			}
			return { rate: emails / seconds, split: workers.map((w, i) => startedBy(w) - startedBefore[i]) };
		};
		const first = cluster.workers[0];
		// Warm-up: both workers load ESP Send, open their store pools and SMTP connections.
		await emailRound([first, secondWorker], Math.min(EMAILS, 4 * PER_EXECUTION));
		const runs: Array<{ two: number; one: number; split: number[] }> = [];
		for (let run = 0; run < 2; run++) {
			if (run > 0) {
				const t = performance.now();
				restarted = await N8nInstance.start({
					userFolder,
					command: 'worker',
					args: [`--concurrency=${CONCURRENCY}`],
					logName: 'worker-2-restarted.log',
					env: {
						...cluster.env,
						QUEUE_HEALTH_CHECK_ACTIVE: 'true',
						N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
						QUEUE_HEALTH_CHECK_PORT: String(await freePort()),
					},
				});
				secondWorker = restarted;
				note(`second worker restarted in ${((performance.now() - t) / 1000).toFixed(1)} s`);
				await emailRound([first, secondWorker], Math.min(EMAILS, 2 * PER_EXECUTION));
			}
			const withTwo = await cpu.emailsTwo.measure(() => emailRound([first, secondWorker], EMAILS));
			note(`emails run ${run + 1}, two workers: ${fmt(withTwo.rate)} emails/s, executions per worker ${withTwo.split.join(' + ')}`);
			await secondWorker.stop();
			const withOne = await cpu.emailsOne.measure(() => emailRound([first], EMAILS));
			note(`emails run ${run + 1}, one worker: ${fmt(withOne.rate)} emails/s`);
			runs.push({ two: withTwo.rate, one: withOne.rate, split: withTwo.split });
		}
		const sent = await count("SELECT COUNT(*) AS n FROM $store.rt_sends WHERE status = 'sent'");
		// Every send execution ended in success (n8n saves an execution's end just after its last node).
		let finished: Array<{ status: string }> = [];
		for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(250)) {
			const list = await n8n.api<{ data: Array<{ status: string }> }>('GET', `/executions?workflowId=${sendWorkflow}&limit=250`);
			finished = list.data.filter((e) => e.status !== 'running' && e.status !== 'new');
			if (finished.length >= requested) break;
		}
		const succeeded = finished.filter((e) => e.status === 'success').length;
		if (succeeded !== requested) throw new Error(`${succeeded} of ${requested} send executions succeeded`);

		// Harmonic totals: the same emails each round, so total emails over total seconds.
		const total = (rates: number[]) => rates.length / rates.reduce((s, r) => s + 1 / r, 0);
		const lines = [
			`queue: n8n queue mode on ${availableParallelism()} cores: main, 2 workers (concurrency ${CONCURRENCY}), 2 webhook processes, PostgreSQL store, Redis queue`,
			`queue: ingest, Tracking Trigger collect-only, batches of ${BATCH}, ${CALLERS} clients, ${ROUNDS} interleaved rounds of ${SECONDS} s:`,
			`  one webhook process   ${fmt(rate(one)).padStart(7)} events/s (${fmt(one.requests / one.seconds)} requests/s)`,
			`  two webhook processes ${fmt(rate(two)).padStart(7)} events/s (${fmt(two.requests / two.seconds)} requests/s), ratio two/one ${(rate(two) / rate(one)).toFixed(2)}x`,
			`  events acknowledged ${fmt(acknowledged)}, events stored ${fmt(stored)}`,
			`  CPU, one webhook process (100% = one core): ${cpu.one.report()}`,
			`  CPU, two webhook processes: ${cpu.two.report()}`,
			`queue: emails, Webhook → Split Out → ESP Send (SMTP, local server answering at once), ${fmt(EXECUTIONS)} executions of ${fmt(PER_EXECUTION)} people at once, ${fmt(EMAILS)} emails a round, first request to last message:`,
			...runs.map((r, i) => `  run ${i + 1}: two workers ${fmt(r.two).padStart(5)} emails/s (executions ${r.split.join(' + ')}), one worker ${fmt(r.one).padStart(5)} emails/s, ratio two/one ${(r.two / r.one).toFixed(2)}x`),
			`  both runs: two workers ${fmt(total(runs.map((r) => r.two)))} emails/s, one worker ${fmt(total(runs.map((r) => r.one)))} emails/s, ratio two/one ${(total(runs.map((r) => r.two)) / total(runs.map((r) => r.one))).toFixed(2)}x`,
			`  CPU, two workers (100% = one core): ${cpu.emailsTwo.report()}`,
			`  CPU, one worker: ${cpu.emailsOne.report()}`,
			`  sends marked sent in the store ${fmt(sent)} (${step} rounds, warm-ups included), every person emailed once a round, ${fmt(requested)} executions, all successful`,
		];
		process.stdout.write(`${lines.join('\n')}\n`);
		note(`queue bench took ${((performance.now() - benchStarted) / 1000).toFixed(0)} s`);
	} finally {
		await cleanUp();
	}
}

main().catch((error: unknown) => {
	process.stderr.write(`queue bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
