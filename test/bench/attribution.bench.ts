/**
 * `npm run bench` (attribution part): the report's attribution over 1,000,000 touchpoints and
 * 100,000 conversions (and over a tenth of both, for the growth), every model: the time and the
 * peak memory (heap and RSS above the start) of building the report from what the store returns,
 * and separately the time to read it from SQLite. Journeys are made up, deterministic: 200,000
 * people with 5 touchpoints each on average over 60 days across seven channels; one in two buys.
 *
 * Run with `node --expose-gc` (the npm script does) so that each measure starts from a collected heap.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { StoredTouchpoint } from '../../nodes/shared/attribution/channels.ts';
import type { ReportInput, StoredConversion } from '../../nodes/shared/attribution/report.ts';
import { repoRoot } from '../harness/paths.ts';

const load = createRequire(path.join(repoRoot(), 'package.json'));
const { buildReport } = load('./dist/nodes/shared/attribution/report.js') as typeof import('../../nodes/shared/attribution/report.ts');
const { DEFAULT_CHANNEL_RULES, parseChannelRules } = load('./dist/nodes/shared/attribution/channels.js') as typeof import('../../nodes/shared/attribution/channels.ts');
const { MODELS } = load('./dist/nodes/shared/attribution/models.js') as typeof import('../../nodes/shared/attribution/models.ts');
const { SqliteDriver } = load('./dist/nodes/shared/store/sqlite-driver.js') as typeof import('../../nodes/shared/store/sqlite-driver.ts');
const { RetargetingStore } = load('./dist/nodes/shared/store/store.js') as typeof import('../../nodes/shared/store/store.ts');
const { insertRows } = load('./dist/nodes/shared/store/sql.js') as typeof import('../../nodes/shared/store/sql.ts');
const { reportInput } = load('./dist/nodes/shared/store/attribution.js') as typeof import('../../nodes/shared/store/attribution.ts');

const TOUCHPOINTS = Number(process.env.BENCH_TOUCHPOINTS ?? 1_000_000);
const DAY = 86_400_000;
const END = Date.parse('2026-11-23T00:00:00.000Z');
const START = END - 60 * DAY;

/** The kinds of touchpoint, with the fields the channel rules read. */
const SHAPES: Array<Pick<StoredTouchpoint, 'kind' | 'source' | 'medium' | 'clickId' | 'campaign'>> = [
	{ kind: 'visit', source: 'google', medium: 'cpc', clickId: 'gclid:x', campaign: 'brand' },
	{ kind: 'visit', source: 'facebook', medium: 'paid_social', clickId: 'fbclid:x', campaign: 'prospecting' },
	{ kind: 'email_sent', source: 'smtp', medium: 'email', clickId: null, campaign: 'cart-recovery' },
	{ kind: 'visit', source: null, medium: null, clickId: 'rt_cid:x', campaign: 'cart-recovery' },
	{ kind: 'ad_impression', source: 'criteo', medium: 'display', clickId: null, campaign: 'retargeting' },
	{ kind: 'visit', source: 'google', medium: 'organic', clickId: null, campaign: null },
	{ kind: 'visit', source: null, medium: null, clickId: null, campaign: null },
];

/** A small deterministic generator, so every run measures the same journeys. */
function generator(seed: number): () => number {
	let s = seed;
	return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** `count` touchpoints over count/5 people, one conversion for every other person (count/10). */
function journeys(count: number): ReportInput {
	const random = generator(7);
	const people = Math.round(count / 5);
	const touchpoints = new Map<string, StoredTouchpoint[]>();
	const conversions: StoredConversion[] = [];
	let made = 0;
	for (let p = 0; p < people; p++) {
		const n = p === people - 1 ? count - made : Math.min(count - made, 1 + Math.floor(random() * 9));
		const list: StoredTouchpoint[] = [];
		for (let k = 0; k < n; k++) {
			const shape = SHAPES[Math.floor(random() * SHAPES.length)];
			list.push({ ...shape, channel: null, at: START + Math.floor(random() * 55 * DAY) });
		}
		made += n;
		list.sort((a, b) => a.at - b.at);
		touchpoints.set(`p-${p}`, list);
		if (p % 2 === 0 && list.length) {
			const at = list[list.length - 1].at + Math.floor(random() * 3 * DAY);
			conversions.push({ orderId: `o-${p}`, profileId: `p-${p}`, at, revenue: 20 + Math.round(random() * 200), refunded: p % 40 === 0 ? 10 : 0, status: p % 40 === 0 ? 'refunded' : 'completed' });
		}
	}
	return { touchpoints, conversions, arms: [] };
}

const options = {
	models: MODELS,
	windows: { lookbackMs: 30 * DAY, clickWindowMs: 30 * DAY, viewWindowMs: DAY },
	halfLifeMs: 7 * DAY,
	rules: parseChannelRules(DEFAULT_CHANNEL_RULES),
	topPaths: 10,
};

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** Time and peak memory above the start of building the report, sampled every 20 ms. */
async function measure(input: ReportInput): Promise<{ ms: number; heapMb: number; rssMb: number; revenue: number }> {
	gc();
	const before = process.memoryUsage();
	let peak = { heap: before.heapUsed, rss: before.rss };
	const sampler = setInterval(() => {
		const now = process.memoryUsage();
		peak = { heap: Math.max(peak.heap, now.heapUsed), rss: Math.max(peak.rss, now.rss) };
	}, 20);
	// Let the sampler start before the synchronous work.
	await new Promise((resolve) => setTimeout(resolve, 25));
	const t0 = performance.now();
	const report = buildReport(input, options);
	const ms = performance.now() - t0;
	const end = process.memoryUsage();
	clearInterval(sampler);
	peak = { heap: Math.max(peak.heap, end.heapUsed), rss: Math.max(peak.rss, end.rss) };
	return { ms, heapMb: (peak.heap - before.heapUsed) / 2 ** 20, rssMb: (peak.rss - before.rss) / 2 ** 20, revenue: report.revenue };
}

/** Writes the journeys into a SQLite store and times reading the report's input back. */
async function readBack(input: ReportInput): Promise<number> {
	const dir = mkdtempSync(path.join(tmpdir(), 'rt-attribution-'));
	const store = new RetargetingStore(new SqliteDriver(path.join(dir, 'store.sqlite')));
	try {
		await store.migrate();
		const iso = (ms: number) => new Date(ms).toISOString();
		await store.driver.transaction(async (tx) => {
			let rows: Array<Array<string | number | null>> = [];
			for (const [profileId, list] of input.touchpoints) {
				for (const t of list) rows.push([profileId, t.channel, t.source, t.medium, t.campaign, t.clickId, t.kind, iso(t.at)]);
				if (rows.length >= 10_000) {
					await insertRows(tx, 'INSERT INTO rt_touchpoints (profile_id, channel, source, medium, campaign, click_id, kind, occurred_at)', rows);
					rows = [];
				}
			}
			await insertRows(tx, 'INSERT INTO rt_touchpoints (profile_id, channel, source, medium, campaign, click_id, kind, occurred_at)', rows);
			const conversions = input.conversions.map((c) => [c.orderId, c.profileId, c.revenue, c.refunded, 'EUR', c.status, iso(c.at)]);
			for (let i = 0; i < conversions.length; i += 5000) {
				await insertRows(tx, 'INSERT INTO rt_conversions (order_id, profile_id, revenue, refunded, currency, status, occurred_at)', conversions.slice(i, i + 5000));
			}
		});
		const t0 = performance.now();
		const read = await reportInput(store.driver, new Date(START + 30 * DAY), new Date(END), 30 * DAY);
		const ms = performance.now() - t0;
		if (read.conversions.length === 0) throw new Error('nothing read back');
		return ms;
	} finally {
		await store.close();
		rmSync(dir, { recursive: true, force: true });
	}
}

async function main(): Promise<void> {
	const fmt = (n: number, digits = 0) => n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
	const lines = [`attribution: every model (${MODELS.join(', ')}), report built from memory; best of 2`];
	const results: Array<{ touchpoints: number; ms: number }> = [];
	for (const count of [TOUCHPOINTS / 10, TOUCHPOINTS]) {
		const input = journeys(count);
		const runs = [await measure(input), await measure(input)];
		const best = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
		const peakHeap = Math.max(...runs.map((r) => r.heapMb));
		const peakRss = Math.max(...runs.map((r) => r.rssMb));
		results.push({ touchpoints: count, ms: best.ms });
		lines.push(`  ${fmt(count).padStart(9)} touchpoints, ${fmt(input.conversions.length).padStart(7)} conversions: ${fmt(best.ms)} ms, peak heap +${fmt(peakHeap)} MB, RSS +${fmt(peakRss)} MB`);
		if (count === TOUCHPOINTS) lines.push(`  reading them from SQLite (reportInput over 30 days + 30 days' lookback): ${fmt(await readBack(input))} ms`);
	}
	lines.push(`  growth from ${fmt(results[0].touchpoints)} to ${fmt(results[1].touchpoints)} touchpoints: ${(results[1].ms / results[0].ms).toFixed(1)}x the time for 10x the data`);
	process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
	process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
	process.exitCode = 1;
});
