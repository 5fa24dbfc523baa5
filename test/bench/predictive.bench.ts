/**
 * `npm run bench` (predictive part).
 *
 * - Fit: BG/NBD and Gamma-Gamma fitted by maximum likelihood on 10,000, 100,000 and 1,000,000
 *   customers (BENCH_PREDICTIVE_SIZES, comma-separated) drawn from the two models with known
 *   parameters (test/harness/predictive.ts), in days: first orders spread over the last two years,
 *   times in whole days as the store counts them. Reported: the fit time, and how far each fitted
 *   parameter is from the one the customers were drawn from.
 * - Segment evaluation with a predictive condition: the Segment Filter run in-process by n8n-core
 *   (test/harness/run-node.ts), as test/bench/segments.bench.ts runs it, over BENCH_PREDICTIVE_PROFILES
 *   profiles (200,000) stored in SQLite with a year of orders each (test/harness/customers.ts), in
 *   executions of 10,000 items: a three-condition segment (country, email consent, not suppressed)
 *   alone, then with "Probability Still Active below 50 %", then with that and "Predicted Value in
 *   the top 20 %" (the reactivation workflow's selection), each against the fit Fit Models keeps.
 *   The ratio is each rate over the segment without prediction, measured in the same run.
 *   Fixture rows are written straight into the tables: the filter is measured, not the event path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { INodeExecutionData, INodeParameters, INodeType } from 'n8n-workflow';

import type { BgNbdParameters, GammaGammaParameters } from '../../nodes/shared/predictive/model.ts';
import { simulateOrders } from '../harness/customers.ts';
import { repoRoot } from '../harness/paths.ts';
import { simulateCustomers } from '../harness/predictive.ts';
import { runNode } from '../harness/run-node.ts';

const load = createRequire(path.join(repoRoot(), 'package.json'));
const { fitBgNbd } = load('./dist/nodes/shared/predictive/bg-nbd.js') as typeof import('../../nodes/shared/predictive/bg-nbd.ts');
const { fitGammaGamma } = load('./dist/nodes/shared/predictive/gamma-gamma.js') as typeof import('../../nodes/shared/predictive/gamma-gamma.ts');

const SIZES = (process.env.BENCH_PREDICTIVE_SIZES ?? '10000,100000,1000000').split(',').map(Number);
/** The truth, in days: about 2.3 repeat orders a year while active (r/α), a third drop out after an order (a/(a+b)). */
const TRUE_BG: BgNbdParameters = { r: 0.25, alpha: 40, a: 0.8, b: 2.5 };
const TRUE_GG: GammaGammaParameters = { p: 6, q: 4, gamma: 15 };

const fmt = (n: number) => Math.round(n).toLocaleString('en');
const seconds = (ms: number) => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);

/** "name fitted (true, ±error %)" for each parameter. */
function recovery<P extends object>(fitted: P, truth: P): string {
	return Object.entries(truth)
		.map(([name, value]) => {
			const got = (fitted as Record<string, number>)[name];
			return `${name} ${got.toPrecision(4)} (${value}, ${((100 * (got - value)) / value).toFixed(1)} %)`;
		})
		.join(', ');
}

/** Part 1: the fits. */
function benchFits(): string[] {
	const lines = ['predictive: fits by maximum likelihood on customers drawn with known parameters (days; whole-day times)'];
	for (const size of SIZES) {
		const t0 = performance.now();
		const customers = simulateCustomers({ customers: size, bg: TRUE_BG, gg: TRUE_GG, minT: 1, maxT: 730, seed: 19, wholeUnits: true });
		const drawn = performance.now() - t0;
		const histories = customers.map((c) => c.history);
		const spends = customers.map((c) => c.spend);
		const t1 = performance.now();
		const bg = fitBgNbd(histories);
		const bgMs = performance.now() - t1;
		const t2 = performance.now();
		const gg = fitGammaGamma(spends);
		const ggMs = performance.now() - t2;
		process.stderr.write(`[bench] ${fmt(size)} customers drawn in ${seconds(drawn)} s\n`);
		lines.push(
			`  ${fmt(size)} customers: BG/NBD ${seconds(bgMs)} s (${bg.iterations} iterations, converged ${bg.converged}, LL ${bg.logLikelihood.toFixed(1)}): ${recovery(bg.parameters, TRUE_BG)}`,
			`  ${' '.repeat(fmt(size).length)}            Gamma-Gamma ${seconds(ggMs)} s on ${fmt(gg.customers)} repeat buyers (${gg.iterations} iterations, converged ${gg.converged}): ${recovery(gg.parameters, TRUE_GG)}`,
		);
	}
	return lines;
}

const PROFILES = Number(process.env.BENCH_PREDICTIVE_PROFILES ?? 200_000);
const CHUNK = 10_000;
const COUNTRIES = ['FR', 'BE', 'DE', 'ES', 'IT'];

/** Profiles with their orders written straight into a fresh SQLite store, then the models fitted and kept as Fit Models does. */
async function fillAndFit(now: number): Promise<{ customers: number; fitMs: number }> {
	const { openEmbeddedStore } = load('./dist/nodes/shared/store/open.js') as typeof import('../../nodes/shared/store/open.ts');
	const { insertRows } = load('./dist/nodes/shared/store/sql.js') as typeof import('../../nodes/shared/store/sql.ts');
	const { fitAndKeep } = load('./dist/nodes/shared/store/predictive.js') as typeof import('../../nodes/shared/store/predictive.ts');
	const { DEFAULT_VALUE_SETTINGS } = load('./dist/nodes/shared/predictive/figures.js') as typeof import('../../nodes/shared/predictive/figures.ts');
	const store = await openEmbeddedStore();
	const iso = (ms: number) => new Date(ms).toISOString();
	for (let start = 0; start < PROFILES; start += 5000) {
		const count = Math.min(5000, PROFILES - start);
		const profiles: Array<Array<string | number | null>> = [];
		const orders: Array<Array<string | number | null>> = [];
		// Each block of people drawn with its own seed: the same customers on every run, whatever the size.
		[...simulateOrders(count, now, { seed: start + 1, prefix: 'p-' })].forEach(([, list], k) => {
			const i = start + k;
			const id = `p-${String(i).padStart(7, '0')}`;
			profiles.push([id, `u-${i}`, `u${i}@example.com`, JSON.stringify({ country: COUNTRIES[i % 5] }), JSON.stringify({ email: i % 10 !== 0 }), i % 50 === 0 ? 1 : 0, iso(list[0].at), iso(list.at(-1)!.at)]);
			for (const o of list) orders.push([`${id}-${o.id}`, id, o.revenue, 'EUR', 'completed', iso(o.at)]);
		});
		await store.driver.transaction(async (tx) => {
			await insertRows(tx, 'INSERT INTO rt_profiles (id, user_id, email, traits, consent, suppressed, first_seen, last_seen)', profiles);
			await insertRows(tx, 'INSERT INTO rt_conversions (order_id, profile_id, revenue, currency, status, occurred_at)', orders);
		});
	}
	await store.driver.exec('ANALYZE');
	const t0 = performance.now();
	const model = await fitAndKeep(store.driver, DEFAULT_VALUE_SETTINGS, new Date(now));
	return { customers: model.customers, fitMs: performance.now() - t0 };
}

const segmentParameters = (conditions: Array<Record<string, unknown>>) =>
	({ segments: { segment: [{ name: 'Target', conditions: { condition: conditions } }] } }) as unknown as INodeParameters;

/** Items/s of the Segment Filter over every profile, in executions of CHUNK items; and how many it kept. */
async function measure(nodeType: INodeType, conditions: Array<Record<string, unknown>>): Promise<{ perSecond: number; kept: number }> {
	let kept = 0;
	let ms = 0;
	for (let start = 0; start < PROFILES; start += CHUNK) {
		const items: INodeExecutionData[] = Array.from({ length: Math.min(CHUNK, PROFILES - start) }, (_, k) => ({ json: { profileId: `p-${String(start + k).padStart(7, '0')}` } }));
		const t0 = performance.now();
		const [first] = await runNode({ nodeType, parameters: segmentParameters(conditions), items, expressionEngine: 'legacy' });
		ms += performance.now() - t0;
		kept += first.length;
	}
	return { perSecond: PROFILES / (ms / 1000), kept };
}

/** Part 2: the Segment Filter with and without predictive conditions, on the same people. */
async function benchSegments(): Promise<string[]> {
	const dir = mkdtempSync(path.join(tmpdir(), 'rt-predictive-'));
	process.env.RETARGETING_SQLITE_FILE = path.join(dir, 'store.sqlite');
	try {
		const now = Date.now();
		const t0 = performance.now();
		const { customers, fitMs } = await fillAndFit(now);
		process.stderr.write(`[bench] ${fmt(PROFILES)} profiles and their orders written, fitted in ${seconds(fitMs)} s (${Math.round((performance.now() - t0) / 1000)} s in all)\n`);
		const { SegmentFilter } = load('./dist/nodes/SegmentFilter/SegmentFilter.node.js') as typeof import('../../nodes/SegmentFilter/SegmentFilter.node.ts');
		const segmentFilter = new SegmentFilter() as INodeType;
		const base = [
			{ conditionType: 'attribute', attribute: 'country', operator: 'in', value: 'FR, BE' },
			{ conditionType: 'consent', channel: 'email', explicit: true },
			{ conditionType: 'notSuppressed' },
		];
		const lapsing = { conditionType: 'probabilityActive', probabilityOperator: 'lt', probabilityPercent: 50 };
		const topValue = { conditionType: 'predictedValue', valueOperator: 'topPercent', topPercent: 20 };
		const variants = { without: base, probability: [...base, lapsing], reactivation: [...base, lapsing, topValue] };
		// One untimed execution each first: opening the store, compiling, warming the JIT.
		for (const conditions of Object.values(variants)) await runNode({ nodeType: segmentFilter, parameters: segmentParameters(conditions), items: [{ json: { profileId: 'p-0000000' } }], expressionEngine: 'legacy' });
		// Interleaved rounds, so that each variant sees the same machine load; the best round of each counts.
		const rounds = Number(process.env.BENCH_SEGMENT_ROUNDS ?? 2);
		const best = { without: { perSecond: 0, kept: 0 }, probability: { perSecond: 0, kept: 0 }, reactivation: { perSecond: 0, kept: 0 } };
		for (let round = 0; round < rounds; round++) {
			for (const [name, conditions] of Object.entries(variants) as Array<[keyof typeof variants, Array<Record<string, unknown>>]>) {
				const result = await measure(segmentFilter, conditions);
				if (result.perSecond > best[name].perSecond) best[name] = result;
			}
			process.stderr.write(`[bench] round ${round + 1}: ${JSON.stringify(Object.fromEntries(Object.entries(best).map(([k, v]) => [k, Math.round(v.perSecond)])))}\n`);
		}
		const line = (label: string, r: { perSecond: number; kept: number }) =>
			`  ${label}: ${fmt(r.perSecond)} items/s (kept ${fmt(r.kept)}; ${(r.perSecond / best.without.perSecond).toFixed(2)}x the segment without prediction)`;
		return [
			`predictive segments: Segment Filter over ${fmt(PROFILES)} profiles (${fmt(customers)} customers in the fit), executions of ${fmt(CHUNK)} items, best of ${rounds} rounds`,
			line('country, consent, not suppressed (no prediction)', best.without),
			line('+ Probability Still Active below 50 %          ', best.probability),
			line('+ and Predicted Value in the top 20 %           ', best.reactivation),
		];
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

async function main(): Promise<void> {
	const lines = benchFits();
	process.stdout.write(`${lines.join('\n')}\n`);
	process.stdout.write(`${(await benchSegments()).join('\n')}\n`);
}

main().catch((error: unknown) => {
	process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
	process.exitCode = 1;
});
