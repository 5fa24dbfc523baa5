/**
 * `npm run bench` (segment part): the Segment Filter over 1,000,000 profiles stored in SQLite,
 * against n8n's built-in Filter node (v2.2) on the same people, both run in-process by n8n-core
 * (test/harness/run-node.ts) in executions of 10,000 items.
 *
 * - Attribute part (country in FR/BE, headcount >= 50, email consent, not suppressed): the Segment
 *   Filter gets items holding only a profileId and reads the profiles from the store; the Filter
 *   node gets items that already hold the profile (as a flow that loaded them would) and evaluates
 *   the same four conditions as expressions. n8n's Filter gets the first BENCH_FILTER_ITEMS people
 *   (100,000; it runs about 1,500 items/s here), and must keep exactly the people the Segment Filter
 *   keeps among them.
 * - The whole five-condition segment (the four above and "viewed a product at least once in the
 *   last 30 days", read from 1,000,000 stored events), on the Segment Filter alone: n8n's Filter has
 *   no access to behaviour.
 * Expressions run on n8n's "legacy" engine, the faster of its two (its "vm" engine ran the Filter
 * node about 4.5 times slower here), so the ratio is the conservative one.
 * Fixture rows are written straight into the tables: the filter is measured, not the event path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { INodeExecutionData, INodeParameters, INodeType } from 'n8n-workflow';

import { repoRoot } from '../harness/paths.ts';
import { loadN8nNodeType, runNode } from '../harness/run-node.ts';

const PROFILES = Number(process.env.BENCH_PROFILES ?? 1_000_000);
const CHUNK = 10_000;
/** n8n's Filter runs about 1,500 items/s here: it gets the first 100,000 people, not all of them. */
const FILTER_ITEMS = Math.min(PROFILES, Number(process.env.BENCH_FILTER_ITEMS ?? 100_000));
const DAY = 86_400_000;
const NOW = Date.now();

const dir = mkdtempSync(path.join(tmpdir(), 'rt-segments-'));
process.env.RETARGETING_SQLITE_FILE = path.join(dir, 'store.sqlite');
const load = createRequire(path.join(repoRoot(), 'package.json'));
const { openEmbeddedStore } = load('./dist/nodes/shared/store/open.js') as typeof import('../../nodes/shared/store/open.ts');
const { insertRows } = load('./dist/nodes/shared/store/sql.js') as typeof import('../../nodes/shared/store/sql.ts');
const { SegmentFilter } = load('./dist/nodes/SegmentFilter/SegmentFilter.node.js') as typeof import('../../nodes/SegmentFilter/SegmentFilter.node.ts');

const COUNTRIES = ['FR', 'BE', 'DE', 'ES', 'IT'];

/** Person i, deterministic: 40 % in FR or BE, headcounts 0-499, 90 % email consent, 2 % suppressed. */
function personOf(i: number) {
	return {
		traits: { country: COUNTRIES[i % 5], company: { name: `Company ${i % 997}`, industry: String(6200 + (i % 7)), employee_count: (i * 7) % 500 } },
		consent: { email: i % 10 !== 0 },
		suppressed: i % 50 === 0,
	};
}

async function fill(): Promise<void> {
	const store = await openEmbeddedStore();
	const iso = (ms: number) => new Date(ms).toISOString();
	for (let start = 0; start < PROFILES; start += 5000) {
		const profiles: Array<Array<string | number | null>> = [];
		const events: Array<Array<string | number | null>> = [];
		for (let i = start; i < Math.min(PROFILES, start + 5000); i++) {
			const p = personOf(i);
			const seen = NOW - (i % 90) * DAY;
			profiles.push([`p-${i}`, `u-${i}`, `u${i}@example.com`, JSON.stringify(p.traits), JSON.stringify(p.consent), p.suppressed ? 1 : 0, iso(seen - 200 * DAY), iso(seen)]);
			// One product view each, 0 to 89 days ago: a third within the last 30 days.
			events.push([`m-${i}`, `p-${i}`, 'track', 'Product Viewed', null, `u-${i}`, iso(seen), iso(seen), '{"properties":{"product_id":"sku-1"}}']);
		}
		await store.driver.transaction(async (tx) => {
			await insertRows(tx, 'INSERT INTO rt_profiles (id, user_id, email, traits, consent, suppressed, first_seen, last_seen)', profiles);
			await insertRows(tx, 'INSERT INTO rt_events (message_id, profile_id, type, event, anonymous_id, user_id, timestamp, received_at, body)', events);
		});
	}
	await store.driver.exec('ANALYZE');
}

const attributeConditions = [
	{ conditionType: 'attribute', attribute: 'country', operator: 'in', value: 'FR, BE' },
	{ conditionType: 'attribute', attribute: 'headcount', operator: 'gte', value: '50' },
	{ conditionType: 'consent', channel: 'email', explicit: true },
	{ conditionType: 'notSuppressed' },
];
const segmentParameters = (conditions: Array<Record<string, unknown>>) =>
	({ segments: { segment: [{ name: 'Target', conditions: { condition: conditions } }] } }) as unknown as INodeParameters;

/** n8n's Filter v2.2 as its editor saves the same four conditions. */
const filterParameters: INodeParameters = {
	conditions: {
		options: { caseSensitive: true, leftValue: '', typeValidation: 'strict', version: 2 },
		combinator: 'and',
		conditions: [
			{ id: 'c1', leftValue: '={{ $json.profile.traits.country }}', rightValue: '^(FR|BE)$', operator: { type: 'string', operation: 'regex' } },
			{ id: 'c2', leftValue: '={{ $json.profile.traits.company.employee_count }}', rightValue: 50, operator: { type: 'number', operation: 'gte' } },
			{ id: 'c3', leftValue: '={{ $json.profile.consent.email }}', rightValue: '', operator: { type: 'boolean', operation: 'true', singleValue: true } },
			{ id: 'c4', leftValue: '={{ $json.profile.suppressed }}', rightValue: '', operator: { type: 'boolean', operation: 'false', singleValue: true } },
		],
	},
	options: {},
};

/** Items/s of a node over all people, in executions of CHUNK items; and how many it kept. */
async function measure(
	run: (items: INodeExecutionData[]) => Promise<INodeExecutionData[][]>,
	itemOf: (i: number) => INodeExecutionData,
	count = PROFILES,
): Promise<{ perSecond: number; kept: number }> {
	let kept = 0;
	let ms = 0;
	for (let start = 0; start < count; start += CHUNK) {
		const items = Array.from({ length: Math.min(CHUNK, count - start) }, (_, k) => itemOf(start + k));
		const t0 = performance.now();
		const [first] = await run(items);
		ms += performance.now() - t0;
		kept += first.length;
	}
	return { perSecond: count / (ms / 1000), kept };
}

async function main(): Promise<void> {
	const t0 = performance.now();
	await fill();
	process.stderr.write(`[bench] ${PROFILES.toLocaleString('en')} profiles and events written in ${Math.round((performance.now() - t0) / 1000)} s\n`);
	const segmentFilter = new SegmentFilter() as INodeType;
	const filter = await loadN8nNodeType('Filter');

	const byId = (i: number): INodeExecutionData => ({ json: { profileId: `p-${i}` } });
	const withProfile = (i: number): INodeExecutionData => ({ json: { profileId: `p-${i}`, profile: personOf(i) } });
	const ours = (conditions: Array<Record<string, unknown>>) => (items: INodeExecutionData[]) =>
		runNode({ nodeType: segmentFilter, parameters: segmentParameters(conditions), items, expressionEngine: 'legacy' });
	const theirs = (items: INodeExecutionData[]) => runNode({ nodeType: filter, typeVersion: 2.2, parameters: filterParameters, items, expressionEngine: 'legacy' });

	// One untimed execution each first: opening the store, compiling, warming the JIT.
	await ours(attributeConditions)([byId(0)]);
	await theirs([withProfile(0)]);
	// Interleaved rounds, so both see the same machine load; the best round of each counts.
	const rounds = Number(process.env.BENCH_SEGMENT_ROUNDS ?? 2);
	const best = { attributes: 0, n8nFilter: 0, fiveConditions: 0 };
	const kept = { attributes: 0, n8nFilter: 0, fiveConditions: 0, attributesOfFilterItems: 0 };
	for (let round = 0; round < rounds; round++) {
		const a = await measure(ours(attributeConditions), byId);
		const f = await measure(theirs, withProfile, FILTER_ITEMS);
		const five = await measure(ours([...attributeConditions, { conditionType: 'behaviour', event: 'Product Viewed', did: 'did', times: 1, withinDays: 30 }]), byId);
		best.attributes = Math.max(best.attributes, a.perSecond);
		best.n8nFilter = Math.max(best.n8nFilter, f.perSecond);
		best.fiveConditions = Math.max(best.fiveConditions, five.perSecond);
		Object.assign(kept, { attributes: a.kept, n8nFilter: f.kept, fiveConditions: five.kept });
		process.stderr.write(`[bench] round ${round + 1}: ${JSON.stringify({ a: Math.round(a.perSecond), f: Math.round(f.perSecond), five: Math.round(five.perSecond) })}\n`);
	}
	kept.attributesOfFilterItems = (await measure(ours(attributeConditions), byId, FILTER_ITEMS)).kept;
	if (kept.attributesOfFilterItems !== kept.n8nFilter) {
		throw new Error(`of the first ${FILTER_ITEMS} people the Segment Filter kept ${kept.attributesOfFilterItems}, n8n's Filter ${kept.n8nFilter}`);
	}
	const fmt = (n: number) => Math.round(n).toLocaleString('en');
	process.stdout.write(
		[
			`segments: ${fmt(PROFILES)} profiles, executions of ${fmt(CHUNK)} items, best of ${rounds} rounds`,
			`  attribute part (4 conditions), Segment Filter reading the store: ${fmt(best.attributes)} items/s (kept ${fmt(kept.attributes)})`,
			`  attribute part, n8n Filter node on items holding the profile:    ${fmt(best.n8nFilter)} items/s (first ${fmt(FILTER_ITEMS)} people; kept ${fmt(kept.n8nFilter)}, as the Segment Filter did of them)`,
			`  ratio: ${(best.attributes / best.n8nFilter).toFixed(1)}x`,
			`  five-condition segment (+ viewed a product in 30 days), Segment Filter: ${fmt(best.fiveConditions)} items/s (kept ${fmt(kept.fiveConditions)})`,
			'',
		].join('\n'),
	);
}

main()
	.catch((error: unknown) => {
		process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
		process.exitCode = 1;
	})
	.finally(() => rmSync(dir, { recursive: true, force: true }));
