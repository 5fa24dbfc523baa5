import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Client } from 'pg';

import { TEST_OWNER } from '../harness/instance.ts';
import { type N8nInstance, trackingTriggerNode, type WorkflowJson } from '../harness/n8n.ts';
import { installPackageInto } from '../harness/package-install.ts';
import { repoRoot } from '../harness/paths.ts';
import { dropSchema, TEST_PG_URL, uniqueSchema } from '../harness/postgres.ts';
import { type QueueCluster, startQueueCluster } from '../harness/queue.ts';
import { TestSmtpServer } from '../harness/smtp.ts';

const WRITE_KEY = `wk_${randomBytes(16).toString('hex')}`;
const PEOPLE = 2_000;

/** The ids of the executions a worker's log says it started. */
function startedBy(worker: N8nInstance): Set<string> {
	const log = readFileSync(worker.logFile!, 'utf8');
	return new Set([...log.matchAll(/Worker started execution (\d+)/g)].map((m) => m[1]));
}

describe('n8n in queue mode (main, 2 workers, a webhook process) on PostgreSQL and Redis, with the instance store on PostgreSQL', () => {
	let cluster: QueueCluster;
	let userFolder: string;
	const n8nSchema = uniqueSchema();
	const storeSchema = uniqueSchema();
	const smtp = new TestSmtpServer();
	let smtpPort: number;
	const db = new Client({ connectionString: TEST_PG_URL });
	const count = async (sql: string) => Number((await db.query<{ n: string }>(sql.replaceAll('$store', `"${storeSchema}"`))).rows[0].n);

	beforeAll(async () => {
		smtpPort = await smtp.start();
		userFolder = mkdtempSync(path.join(repoRoot(), '.test-runs', 'queue-'));
		// Once, in the folder every process shares, as a production deployment installs it.
		await installPackageInto(userFolder, process.env.RETARGETING_TARBALL!);
		cluster = await startQueueCluster({
			userFolder,
			n8nSchema,
			storeSchema,
			queuePrefix: `rt-test-${randomBytes(4).toString('hex')}`,
			owner: TEST_OWNER,
			// A worker that dies is noticed within seconds instead of n8n's default minute and a half; each
			// node's output is saved as it finishes, so that an execution whose worker died can be retried.
			env: { QUEUE_WORKER_LOCK_DURATION: '6000', QUEUE_WORKER_LOCK_RENEW_TIME: '2000', QUEUE_WORKER_STALLED_INTERVAL: '3000', EXECUTIONS_DATA_SAVE_ON_PROGRESS: 'true' },
		});
		await db.connect();
	}, 300_000);

	afterAll(async () => {
		await cluster?.stop();
		await db.end();
		await smtp.stop();
		// RETARGETING_KEEP_RUNS=1 keeps the processes' logs and both schemas, to look into a failure.
		if (process.env.RETARGETING_KEEP_RUNS) return;
		await dropSchema(n8nSchema);
		await dropSchema(storeSchema);
		rmSync(userFolder, { recursive: true, force: true });
	}, 120_000);

	it('tracker events sent to the webhook process are stored in the instance store and start executions that run on the workers', async () => {
		const { main, webhook, workers } = cluster;
		const source = await main.createCredential('retargetingTrackingApi', 'Shop', { writeKey: WRITE_KEY });
		const workflowId = await main.publishWorkflow({
			name: 'Collect',
			nodes: [
				trackingTriggerNode('shop', { id: source, name: 'Shop' }, { triggerOn: ['Checkout Started'] }),
				{ id: randomUUID(), name: 'Checked out', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [240, 0], parameters: {} },
			],
			connections: { 'Tracking Trigger': { main: [[{ node: 'Checked out', type: 'main', index: 0 }]] } },
		});
		await webhook.waitForWebhook('shop');
		// Each visitor's identify, cart and checkout: 500 events a request, as Segment's libraries batch.
		const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
		const events = Array.from({ length: PEOPLE }, (_, i) => [
			{ type: 'identify', anonymousId: `v-${i}`, traits: { email: `p${i}@example.com`, first_name: `P${i}` }, context: { consent: { email: true } }, timestamp: ago(40) },
			{ type: 'track', event: 'Product Added', anonymousId: `v-${i}`, properties: { cart_id: `c-${i}`, product_id: 'sku-1', name: 'Tea', price: 5, quantity: 1 }, timestamp: ago(30) },
		]).flat();
		for (let i = 0; i < events.length; i += 500) expect(await webhook.track('shop', WRITE_KEY, events.slice(i, i + 500))).toMatchObject({ accepted: 500, rejected: 0 });
		const checkouts = Array.from({ length: 10 }, (_, i) => ({ type: 'track', event: 'Checkout Started', anonymousId: `v-${i}`, properties: { cart_id: `c-${i}` }, timestamp: ago(20) }));
		for (const checkout of checkouts) expect(await webhook.track('shop', WRITE_KEY, [checkout])).toMatchObject({ accepted: 1 });

		expect(await count('SELECT COUNT(*) AS n FROM $store.rt_profiles')).toBe(PEOPLE);
		expect(await count('SELECT COUNT(*) AS n FROM $store.rt_events')).toBe(PEOPLE * 2 + 10);
		expect(await count("SELECT COUNT(*) AS n FROM $store.rt_carts WHERE status = 'open'")).toBe(PEOPLE);
		const runs = await main.waitForExecutions(workflowId, 10, 60_000);
		expect(runs.map((r) => r.status)).toEqual(Array(10).fill('success'));
		const onWorkers = new Set(workers.flatMap((w) => [...startedBy(w)]));
		for (const run of runs) expect(onWorkers.has(String(run.id))).toBe(true);
		// The webhook process stored, the workers ran: no embedded store file was made anywhere.
		expect(() => readFileSync(path.join(userFolder, '.n8n', 'retargeting', 'store.sqlite'))).toThrow();
	}, 180_000);

	it('the Abandoned Cart Trigger polls on main and its 2,000 due carts reach ESP Send on the workers: exactly 2,000 emails, none twice', async () => {
		const { main, workers } = cluster;
		const mail = await main.createCredential('retargetingSmtpApi', 'Mail', { host: '127.0.0.1', port: smtpPort, secure: false });
		const workflowId = await main.publishWorkflow(cartWorkflow(mail, 'carts'));
		// Two polls of 1,000, a minute apart: two executions for the workers to share.
		await smtp.waitFor(PEOPLE, 200_000);
		await sleep(3000);
		const recipients = smtp.messages.map((m) => m.to.join(','));
		expect(recipients).toHaveLength(PEOPLE);
		expect(new Set(recipients).size).toBe(PEOPLE);
		const runs = await main.waitForExecutions(workflowId, 2, 60_000);
		expect(runs.every((r) => r.status === 'success')).toBe(true);
		const emitted = runs.reduce((n, r) => n + (r.data?.resultData.runData['Abandoned Cart Trigger']?.[0].data?.main[0]?.length ?? 0), 0);
		expect(emitted).toBe(PEOPLE);
		const byWorker = workers.map((w) => runs.filter((r) => startedBy(w).has(String(r.id))).length);
		expect(byWorker.reduce((a, b) => a + b, 0)).toBe(runs.length);
		expect(await count("SELECT COUNT(*) AS n FROM $store.rt_sends WHERE status = 'sent'")).toBe(PEOPLE);
		await main.api('POST', `/workflows/${workflowId}/deactivate`, {});
	}, 300_000);

	it('a worker killed with SIGKILL in the middle of a send run leaves no email doubled: n8n ends the job, the next polls do not emit those carts again, and a replay of the same carts sends nothing twice', async () => {
		const { main, workers } = cluster;
		smtp.messages.length = 0;
		// New carts for 600 of the same people, and a slow mail server, so that the run is caught mid-way.
		await db.query(`UPDATE "${storeSchema}".rt_carts SET status = 'converted'`);
		const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
		const adds = Array.from({ length: 600 }, (_, i) => ({ type: 'track', event: 'Product Added', anonymousId: `v-${i}`, properties: { cart_id: `k-${i}`, product_id: 'sku-2', name: 'Jam', price: 4, quantity: 1 }, timestamp: ago(30) }));
		for (let i = 0; i < adds.length; i += 300) expect(await cluster.webhook.track('shop', WRITE_KEY, adds.slice(i, i + 300))).toMatchObject({ accepted: 300 });
		smtp.acceptDelayMs = 40;
		const mail = await main.createCredential('retargetingSmtpApi', 'Slow mail', { host: '127.0.0.1', port: smtpPort, secure: false });
		const workflowId = await main.publishWorkflow(cartWorkflow(mail, 'second carts'));
		await smtp.waitFor(100, 120_000);
		const [execution] = await runningExecutions(main, workflowId);
		const victim = workers.find((w) => startedBy(w).has(execution))!;
		expect(victim).toBeDefined();
		victim.kill();
		const atKill = smtp.messages.length;
		expect(atKill).toBeLessThan(600);
		// n8n notices the dead worker's job and ends its execution as failed; n8n 2.x does not run it again.
		const ended = await main.waitForExecution(execution, 90_000);
		expect(ended.status).toBe('error');
		expect(JSON.stringify(ended.data?.resultData.error)).toMatch(/failed to be processed too many times/);
		smtp.acceptDelayMs = 0;
		const keys = async (status: string) => count(`SELECT COUNT(*) AS n FROM $store.rt_sends WHERE idempotency_key LIKE '%:k-%' AND status = '${status}'`);
		const sentBefore = await keys('sent');
		// Recorded wave by wave: what the server took before the kill is on record as sent, or pending if it was under way.
		expect(sentBefore + (await keys('pending'))).toBeGreaterThanOrEqual(atKill);
		// Every cart of the run was claimed: a later poll does not emit it again.
		expect(await count(`SELECT COUNT(*) AS n FROM $store.rt_cart_progress WHERE cart_id LIKE 'k-%'`)).toBe(600);

		// An operator replays the run with the same carts (the items the trigger gave, rebuilt from the store).
		const carts = (await db.query<{ id: string; profile_id: string }>(`SELECT id, profile_id FROM "${storeSchema}".rt_carts WHERE id LIKE 'k-%' ORDER BY id`)).rows;
		const replay = await main.waitForExecution(await main.runWithPinnedTrigger(workflowId, 'Abandoned Cart Trigger', carts.map((c) => ({ json: { cartId: c.id, profileId: c.profile_id, step: 1, items: [] } }))), 120_000);
		expect(replay.status).toBe('success');
		const outcomes = replay.data!.resultData.runData['ESP Send'][0].data!.main[0]!.map((i) => i.json.send as { status: string; reason?: string });
		const reasons = outcomes.filter((o) => o.status === 'skipped').map((o) => o.reason);
		expect(reasons.filter((r) => r === 'already sent (same idempotency key)')).toHaveLength(sentBefore);
		expect(reasons.every((r) => /already sent|never confirmed/.test(r ?? ''))).toBe(true);
		const recipients = smtp.messages.map((m) => m.to.join(','));
		expect(new Set(recipients).size).toBe(recipients.length);
		expect(outcomes.filter((o) => o.status === 'sent').length + reasons.length).toBe(600);
		expect(recipients.length).toBeLessThanOrEqual(600);
		await main.api('POST', `/workflows/${workflowId}/deactivate`, {});
	}, 300_000);

	it('a node left on the Embedded store gets the clear error, on the webhook process and on a worker, and writes nothing', async () => {
		const { main, webhook } = cluster;
		const source = await main.createCredential('retargetingTrackingApi', 'Embedded', { writeKey: WRITE_KEY });
		await main.publishWorkflow({
			name: 'Left on Embedded',
			nodes: [trackingTriggerNode('embedded', { id: source, name: 'Embedded' }, { store: 'embedded' })],
			connections: {},
		});
		await webhook.waitForWebhook('embedded');
		const answer = await webhook.webhook('embedded', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` }, body: JSON.stringify({ type: 'track', event: 'Page Viewed', anonymousId: 'x' }) });
		expect(answer.status).toBe(500);
		expect(((await answer.json()) as { error: string }).error).toMatch(/embedded store cannot be used in n8n's queue mode.*RETARGETING_STORE_URL=postgres:\/\//);

		const profileId = await main.createWorkflow({
			name: 'Profile on Embedded',
			nodes: [
				{ id: randomUUID(), name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
				{ id: randomUUID(), name: 'Get', type: 'n8n-nodes-retargeting.retargetingProfile', typeVersion: 1, position: [240, 0], parameters: { store: 'embedded', operation: 'get', lookupBy: 'email', lookupValue: 'p1@example.com' } },
			],
			connections: { Start: { main: [[{ node: 'Get', type: 'main', index: 0 }]] } },
		});
		const run = await main.waitForExecution(await main.runWithPinnedTrigger(profileId, 'Start', [{ json: {} }]), 60_000);
		expect(run.status).toBe('error');
		expect(JSON.stringify(run.data!.resultData.error)).toMatch(/embedded store cannot be used in n8n's queue mode/);
		expect(() => readFileSync(path.join(userFolder, '.n8n', 'retargeting', 'store.sqlite'))).toThrow();
	}, 120_000);

	/** Abandoned Cart Trigger (polled every minute, n8n's shortest, up to `perPoll` carts a poll) → ESP Send over SMTP, on the instance store. */
	function cartWorkflow(mail: string, name: string, perPoll = 1000): WorkflowJson {
		return {
			name,
			nodes: [
				{
					id: randomUUID(),
					name: 'Abandoned Cart Trigger',
					type: 'n8n-nodes-retargeting.abandonedCartTrigger',
					typeVersion: 1,
					position: [0, 0],
					parameters: { steps: '1s', openedBy: ['Product Added'], pollTimes: { item: [{ mode: 'everyMinute' }] }, options: { maxCartsPerPoll: perPoll } },
				},
				{
					id: randomUUID(),
					name: 'ESP Send',
					type: 'n8n-nodes-retargeting.espSend',
					typeVersion: 1,
					position: [240, 0],
					parameters: { fromEmail: 'shop@example.com', subject: 'Your cart', html: '<p>{first_name}, your cart</p>', unsubscribeLink: 'custom', unsubscribeUrl: 'https://shop.example/u/{profile_id}', options: { capMax: 0 } },
					credentials: { retargetingSmtpApi: { id: mail, name: 'Mail' } },
				},
			],
			connections: { 'Abandoned Cart Trigger': { main: [[{ node: 'ESP Send', type: 'main', index: 0 }]] } },
		};
	}

	/** The ids of a workflow's executions still running. */
	async function runningExecutions(main: N8nInstance, workflowId: string): Promise<string[]> {
		for (let i = 0; i < 100; i++) {
			const list = await main.api<{ data: Array<{ id: string; status: string }> }>('GET', `/executions?workflowId=${workflowId}&status=running`);
			if (list.data.length) return list.data.map((e) => String(e.id));
			await sleep(200);
		}
		throw new Error('no running execution');
	}
});
