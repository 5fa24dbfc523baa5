/**
 * `npm run bench` (ingest part): one real n8n with the packed package, three ways to receive
 * product-view events over HTTP, measured in the same run with the same load (CALLERS concurrent
 * keep-alive clients, ROUNDS interleaved rounds of SECONDS each):
 *  - baseline: n8n's built-in Webhook node → No Operation, one event per request (what users build today);
 *  - (a) the Tracking Trigger, one collected-only event per request (stored, no execution);
 *  - (b) the Tracking Trigger, batches of 100 collected-only events;
 *  - n8n's built-in way to keep events, for (b): Webhook → Split Out → Data table (insert, Optimize
 *    Bulk), batches of 100, answered once the rows are in.
 * It checks that the events stored equal the events acknowledged, in our store and in the Data table.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';

import { ensureN8nRuntime } from '../harness/n8n-runtime.ts';
import { startTestInstance } from '../harness/instance.ts';
import { splitOutNode, trackingTriggerNode, webhookNode } from '../harness/n8n.ts';
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
	/** The events a 200 answer's body says were taken. */
	acknowledges: (body: string) => number;
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
			s.acknowledged += s.acknowledges(text);
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
				webhookNode('baseline', 'onReceived'),
				noOp,
			],
			connections: { Webhook: { main: [[{ node: 'No Operation', type: 'main', index: 0 }]] } },
		});
		await n8n.publishWorkflow({
			name: 'Tracking Trigger',
			nodes: [
				trackingTriggerNode('ours', { id: credential, name: 'Bench source' }),
				noOp,
			],
			connections: { 'Tracking Trigger': { main: [[{ node: 'No Operation', type: 'main', index: 0 }]] } },
		});
		const table = await n8n.api<{ id: string }>('POST', '/data-tables', {
			name: 'events',
			columns: ['message_id', 'anonymous_id', 'type', 'event', 'body'].map((name) => ({ name, type: 'string' })),
		});
		await n8n.publishWorkflow({
			name: 'Built-in: Webhook → Split Out → Data table',
			nodes: [
				webhookNode('data-table', 'lastNode'),
				splitOutNode('body.batch'),
				{
					id: randomUUID(),
					name: 'Data table',
					type: 'n8n-nodes-base.dataTable',
					typeVersion: 1.1,
					position: [440, 0],
					parameters: {
						resource: 'row',
						operation: 'insert',
						dataTableId: { __rl: true, mode: 'id', value: table.id },
						columns: {
							mappingMode: 'defineBelow',
							value: {
								message_id: '={{ $json.messageId }}',
								anonymous_id: '={{ $json.anonymousId }}',
								type: '={{ $json.type }}',
								event: '={{ $json.event }}',
								body: '={{ JSON.stringify($json) }}',
							},
							matchingColumns: [],
							schema: [],
						},
						options: { optimizeBulk: true },
					},
				},
			],
			connections: {
				Webhook: { main: [[{ node: 'Split Out', type: 'main', index: 0 }]] },
				'Split Out': { main: [[{ node: 'Data table', type: 'main', index: 0 }]] },
			},
		});
		await n8n.waitForWebhook('baseline');
		await n8n.waitForWebhook('ours');
		await n8n.waitForWebhook('data-table');

		const make = (
			name: string,
			pathName: string,
			eventsPerRequest: number,
			acknowledges: (body: string) => number,
			headers: Record<string, string> = {},
		): Scenario => ({
			name,
			acknowledges,
			url: `${n8n.baseUrl}/webhook/${pathName}`,
			eventsPerRequest,
			headers,
			requests: 0,
			acknowledged: 0,
			seconds: 0,
		});
		// n8n's Webhook node answers "Workflow was started"; the Tracking Trigger reports what it stored.
		const accepted = (body: string) => (JSON.parse(body) as { accepted: number }).accepted;
		const baseline = make('Webhook node → No Operation, 1 event a request', 'baseline', 1, () => 1);
		const single = make('Tracking Trigger, 1 collected-only event a request', 'ours', 1, accepted, { authorization: auth });
		const batched = make('Tracking Trigger, batches of 100 collected-only events', 'ours', 100, accepted, { authorization: auth });
		// The Data table workflow answers with its last node's output once the rows are inserted.
		const builtIn = make('Webhook → Split Out → Data table insert (Optimize Bulk), batches of 100', 'data-table', 100, () => 100);
		const scenarios = [baseline, single, batched, builtIn];
		// Warm-up (JIT, first store open), then interleaved rounds so that machine noise hits all three alike.
		let warmUpAcknowledged = 0;
		let warmUpRows = 0;
		for (const s of scenarios) {
			const warmUp = { ...s };
			await load(warmUp, 1);
			if (s === single || s === batched) warmUpAcknowledged += warmUp.acknowledged;
			if (s === builtIn) warmUpRows += warmUp.acknowledged;
		}
		for (let round = 0; round < ROUNDS; round++) for (const s of scenarios) await load(s, SECONDS);

		const db = new SqliteDriver(path.join(n8n.userFolder, '.n8n', 'retargeting', 'store.sqlite'));
		const [{ n }] = await db.all<{ n: number }>('SELECT COUNT(*) AS n FROM rt_events');
		await db.close();
		const n8nDb = new SqliteDriver(path.join(n8n.userFolder, '.n8n', 'database.sqlite'));
		const [{ rows }] = await n8nDb.all<{ rows: number }>(`SELECT COUNT(*) AS rows FROM data_table_user_${table.id}`);
		await n8nDb.close();
		const ours = single.acknowledged + batched.acknowledged + warmUpAcknowledged;
		const theirs = builtIn.acknowledged + warmUpRows;
		const rate = (s: Scenario) => (s.requests * s.eventsPerRequest) / s.seconds;
		const fmt = (x: number) => Math.round(x).toLocaleString('en');
		const lines = scenarios.map(
			(s) =>
				`ingest: ${s.name}: ${fmt(rate(s))} events/s (${fmt(s.requests / s.seconds)} requests/s)${s === baseline ? ' [baseline]' : `, ${(rate(s) / rate(baseline)).toFixed(2)}× the baseline`}`,
		);
		lines.push(`ingest: Tracking Trigger, batches of 100, against the Data table workflow: ${(rate(batched) / rate(builtIn)).toFixed(2)}×`);
		lines.push(`ingest: events acknowledged by the Tracking Trigger ${fmt(ours)}, events in its store ${fmt(Number(n))}`);
		lines.push(`ingest: events answered by the Data table workflow ${fmt(theirs)}, rows in the Data table ${fmt(Number(rows))}`);
		process.stdout.write(`${lines.join('\n')}\n`);
		if (Number(n) !== ours) throw new Error(`the store holds ${n} events, but ${ours} were acknowledged`);
		if (Number(rows) !== theirs) throw new Error(`the Data table holds ${rows} rows, but ${theirs} events were answered`);
	} finally {
		await n8n.dispose();
	}
}

main().catch((error: unknown) => {
	process.stderr.write(`ingest bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
