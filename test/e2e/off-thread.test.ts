import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { DEFAULT_CHANNEL_RULES, parseChannelRules } from '../../nodes/shared/attribution/channels.ts';
import { MODELS } from '../../nodes/shared/attribution/models.ts';
import { JOBS } from '../../nodes/shared/offthread/jobs.ts';
import type { SqlDriver } from '../../nodes/shared/store/driver.ts';
import { SqliteDriver } from '../../nodes/shared/store/sqlite-driver.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { fillBigStore } from '../harness/big-store.ts';
import { repoRoot } from '../harness/paths.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

/**
 * The store's heavy reads run in a worker thread only where the package is compiled (n8n loads it
 * from dist): these tests drive the built offThread, against what the same jobs give on the
 * calling thread from the sources.
 */
const built = createRequire(path.join(repoRoot(), 'package.json'))('./dist/nodes/shared/offthread/run.js') as typeof import('../../nodes/shared/offthread/run.ts');

const DAY = 86_400_000;
const END = Date.parse('2026-11-23T00:00:00.000Z');
const options = {
	models: [...MODELS],
	windows: { lookbackMs: 30 * DAY, clickWindowMs: 30 * DAY, viewWindowMs: DAY },
	halfLifeMs: 7 * DAY,
	rules: parseChannelRules(DEFAULT_CHANNEL_RULES),
	topPaths: 10,
};
const everyone = { name: 'Opted in', groups: [[{ type: 'consent' as const, channel: 'email' as const, explicit: true }]] };

async function collect<T>(values: AsyncIterable<T>): Promise<T[]> {
	const all: T[] = [];
	for await (const value of values) all.push(value);
	return all;
}

describe.each(BACKENDS)('the store jobs in a worker thread, on %s', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let store: RetargetingStore;

	beforeAll(async () => {
		fixture = makeFixture();
		store = await fixture.open();
		await store.migrate();
		// 2,500 people, 2,500 touchpoints, 250 orders.
		await fillBigStore(store, 2500, END);
	}, 60_000);

	afterAll(async () => {
		await fixture.dispose();
	});

	it('gives the report and the Markov fit the calling thread gives', async () => {
		const args = { from: new Date(END - 30 * DAY), to: new Date(END), options };
		const report = await built.offThreadResult(store.driver, 'attributionReport', args);
		expect(report.conversions).toBe(250);
		expect(report).toEqual((await collect(JOBS.attributionReport(store.driver, args)))[0]);
		const fit = { now: new Date(END), windows: options.windows, rules: options.rules };
		const effects = await built.offThreadResult(store.driver, 'removalEffects', fit);
		expect(effects.size).toBeGreaterThan(3);
		expect(effects).toEqual((await collect(JOBS.removalEffects(store.driver, fit)))[0]);
	});

	it("runs on a connection of its own: the caller's driver is never used", async () => {
		const unused = () => Promise.reject(new Error('the job ran on the calling thread'));
		const elsewhere: SqlDriver = { dialect: store.driver.dialect, location: store.driver.location, all: unused, run: unused, exec: unused, transaction: unused, close: unused };
		const report = await built.offThreadResult(elsewhere, 'attributionReport', { from: new Date(END - 30 * DAY), to: new Date(END), options });
		expect(report.conversions).toBe(250);
	});

	it('sends the members of a segment a page at a time, up to the maximum', async () => {
		const pages = await collect(built.offThread(store.driver, 'segmentMembers', { segment: everyone }));
		expect(pages.map((p) => p.length)).toEqual([1000, 1000, 500]);
		expect(pages).toEqual(await collect(JOBS.segmentMembers(store.driver, { segment: everyone })));
		expect(pages[0][0]).toMatchObject({ profile: { id: 'big-00000000', email: 'u0@example.com' }, facts: { 'email consent': true } });
		const capped = await collect(built.offThread(store.driver, 'segmentMembers', { segment: everyone, max: 1500 }));
		expect(capped.flat()).toHaveLength(1500);
	});
});

describe('a store job that fails in its worker thread', () => {
	it("fails the caller with the job's error", async () => {
		const dir = mkdtempSync(path.join(tmpdir(), 'rt-off-thread-'));
		// A database without the store's tables.
		const driver = new SqliteDriver(path.join(dir, 'empty.sqlite'));
		try {
			await expect(built.offThreadResult(driver, 'attributionReport', { from: new Date(END - DAY), to: new Date(END), options })).rejects.toThrow('no such table: rt_conversions');
		} finally {
			await driver.close();
			rmSync(dir, { recursive: true, force: true });
		}
	});
});
