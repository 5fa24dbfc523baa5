/**
 * `npm run bench` (ingest part): one real n8n with the packed package, three ways to receive
 * product-view events over HTTP, measured in the same run with the same load (CALLERS concurrent
 * keep-alive clients, ROUNDS interleaved rounds of SECONDS each):
 *  - baseline: n8n's built-in Webhook node → No Operation, one event per request (what users build today);
 *  - (a) the Tracking Trigger, one collected-only event per request (stored, no execution);
 *  - (b) the Tracking Trigger, batches of 100 collected-only events.
 * It checks that the events stored equal the events acknowledged.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';

import { ensureN8nRuntime } from '../harness/n8n-runtime.ts';
import { startTestInstance } from '../harness/instance.ts';
import { packPackage } from '../harness/package-install.ts';
import { repoRoot } from '../harness/paths.ts';
import { SqliteDriver } from '../../nodes/shared/store/sqlite-driver.ts';

const SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_INGEST_ROUNDS ?? 3);
const CALLERS = 8;
const WRITE_KEY = `wk_${randomBytes(16).toString('hex')}`;
const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;

let sequence = 0;
const view = () => ({
	type: 'track',
	event: 'Product Viewed',
	messageId: randomUUID(),
	anonymousId: `visitor-${++sequence % 5000}`,
	properties: { product_id: `sku-${sequence % 300}`, price: 19.9, currency: 'EUR' },
	context: { page: { url: `https://shop.test/p/${sequence % 300}?utm_source=news` } },
});

interface Scenario {
	name: string;
	url: string;
	eventsPerRequest: number;
	headers: Record<string, string>;
	requests: number;
	acknowledged: number;
	seconds: number;
}

/** CALLERS clients send requests back to back for `seconds`; returns requests answered 200. */
async function load(s: Scenario, seconds: number): Promise<void> {
	const deadline = performance.now() + seconds * 1000;
	const started = performance.now();
	const caller = async () => {
		while (performance.now() < deadline) {
			const body = s.eventsPerRequest === 1 ? view() : { batch: Array.from({ length: s.eventsPerRequest }, view) };
			const res = await fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json', ...s.headers }, body: JSON.stringify(body) });
			const text = await res.text();
			if (res.status !== 200) throw new Error(`${s.name}: HTTP ${res.status} ${text}`);
			s.requests++;
			// n8n's Webhook node answers "Workflow was started"; the Tracking Trigger reports what it stored.
			s.acknowledged += s.url.endsWith('/baseline') ? 1 : (JSON.parse(text) as { accepted: number }).accepted;
		}
	};
	await Promise.all(Array.from({ length: CALLERS }, caller));
	s.seconds += (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
	await ensureN8nRuntime();
	process.env.RETARGETING_TARBALL = await packPackage(path.join(repoRoot(), '.test-runs', 'package'));
	const n8n = await startTestInstance();
	try {
		const credential = await n8n.createCredential('retargetingTrackingApi', 'Bench source', { writeKey: WRITE_KEY });
		const noOp = { id: randomUUID(), name: 'No Operation', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [220, 0] as [number, number], parameters: {} };
		await n8n.publishWorkflow({
			name: 'Baseline: Webhook → No Operation',
			nodes: [
				{
					id: randomUUID(),
					name: 'Webhook',
					type: 'n8n-nodes-base.webhook',
					typeVersion: 2,
					position: [0, 0],
					webhookId: randomUUID(),
					parameters: { httpMethod: 'POST', path: 'baseline', responseMode: 'onReceived', options: {} },
				},
				noOp,
			],
			connections: { Webhook: { main: [[{ node: 'No Operation', type: 'main', index: 0 }]] } },
		});
		await n8n.publishWorkflow({
			name: 'Tracking Trigger',
			nodes: [
				{
					id: randomUUID(),
					name: 'Tracking Trigger',
					type: 'n8n-nodes-retargeting.trackingTrigger',
					typeVersion: 1,
					position: [0, 0],
					parameters: { path: 'ours' },
					credentials: { retargetingTrackingApi: { id: credential, name: 'Bench source' } },
				},
				noOp,
			],
			connections: { 'Tracking Trigger': { main: [[{ node: 'No Operation', type: 'main', index: 0 }]] } },
		});
		await n8n.waitForWebhook('baseline');
		await n8n.waitForWebhook('ours');

		const make = (name: string, pathName: string, eventsPerRequest: number, headers: Record<string, string> = {}): Scenario => ({
			name,
			url: `${n8n.baseUrl}/webhook/${pathName}`,
			eventsPerRequest,
			headers,
			requests: 0,
			acknowledged: 0,
			seconds: 0,
		});
		const baseline = make('Webhook node → No Operation, 1 event a request', 'baseline', 1);
		const single = make('Tracking Trigger, 1 collected-only event a request', 'ours', 1, { authorization: auth });
		const batched = make('Tracking Trigger, batches of 100 collected-only events', 'ours', 100, { authorization: auth });
		const scenarios = [baseline, single, batched];
		// Warm-up (JIT, first store open), then interleaved rounds so that machine noise hits all three alike.
		let warmUpAcknowledged = 0;
		for (const s of scenarios) {
			const warmUp = { ...s };
			await load(warmUp, 1);
			if (s !== baseline) warmUpAcknowledged += warmUp.acknowledged;
		}
		for (let round = 0; round < ROUNDS; round++) for (const s of scenarios) await load(s, SECONDS);

		const db = new SqliteDriver(path.join(n8n.userFolder, '.n8n', 'retargeting', 'store.sqlite'));
		const [{ n }] = await db.all<{ n: number }>('SELECT COUNT(*) AS n FROM rt_events');
		await db.close();
		const ours = single.acknowledged + batched.acknowledged + warmUpAcknowledged;
		const rate = (s: Scenario) => (s.requests * s.eventsPerRequest) / s.seconds;
		const fmt = (x: number) => Math.round(x).toLocaleString('en');
		const lines = scenarios.map(
			(s) =>
				`ingest: ${s.name}: ${fmt(rate(s))} events/s (${fmt(s.requests / s.seconds)} requests/s)${s === baseline ? ' [baseline]' : `, ${(rate(s) / rate(baseline)).toFixed(2)}× the baseline`}`,
		);
		lines.push(`ingest: events acknowledged by the Tracking Trigger ${fmt(ours)}, events in its store ${fmt(Number(n))}`);
		process.stdout.write(`${lines.join('\n')}\n`);
		if (Number(n) !== ours) throw new Error(`the store holds ${n} events, but ${ours} were acknowledged`);
	} finally {
		await n8n.dispose();
	}
}

main().catch((error: unknown) => {
	process.stderr.write(`ingest bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
