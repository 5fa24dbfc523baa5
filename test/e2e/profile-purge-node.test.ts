import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { RetargetingProfile } from '../../nodes/RetargetingProfile/RetargetingProfile.node.ts';
import { openEmbeddedStore } from '../../nodes/shared/store/open.ts';
import { insertRows } from '../../nodes/shared/store/sql.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { eventAt } from '../harness/events.ts';
import { runNode, runNodeTask } from '../harness/run-node.ts';

const DAY = 86_400_000;

/** Retargeting Profile, resource Store, run by n8n-core in-process as in a workflow, on the embedded store. */
describe('the Retargeting Profile node: Store → Purge Old Data, run by n8n-core', () => {
	const dir = mkdtempSync(path.join(tmpdir(), 'rt-purge-node-'));
	process.env.RETARGETING_SQLITE_FILE = path.join(dir, 'store.sqlite');
	let store: RetargetingStore;

	/** `count` events of one visitor, received `daysAgo` days ago. */
	const eventsReceived = (daysAgo: number, count: number, who: string) =>
		Array.from({ length: count }, (_, i) => {
			const at = Date.now() - daysAgo * DAY + i * 1000;
			return { ...eventAt(at, { type: 'track', event: 'Product Viewed', anonymousId: who }), receivedAt: new Date(at).toISOString() };
		});

	const emailEvents = async (prefix: string, daysAgo: number, count: number) => {
		const [profile] = await store.driver.all<{ id: string }>('SELECT id FROM rt_profiles LIMIT 1');
		const at = new Date(Date.now() - daysAgo * DAY).toISOString();
		await insertRows(
			store.driver,
			'INSERT INTO rt_email_events (provider, event_id, profile_id, send_key, kind, occurred_at, received_at)',
			Array.from({ length: count }, (_, i) => ['postmark', `${prefix}-${i}`, profile.id, null, 'open', at, at]),
		);
	};

	const count = async (table: string) => Number((await store.driver.all<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);

	beforeAll(async () => {
		store = await openEmbeddedStore();
	});

	beforeEach(async () => {
		await store.driver.run('DELETE FROM rt_events');
		await store.driver.run('DELETE FROM rt_email_events');
		await store.appendEvents(eventsReceived(500, 7, 'old-visitor'));
		await store.appendEvents(eventsReceived(100, 5, 'recent-visitor'));
		await store.appendEvents(eventsReceived(1, 2, 'recent-visitor'));
		await emailEvents('old', 450, 4);
		await emailEvents('new', 10, 3);
	});

	afterAll(() => rmSync(dir, { recursive: true, force: true }));

	const items: INodeExecutionData[] = [{ json: { n: 1 } }, { json: { n: 2 } }, { json: { n: 3 } }];
	const run = (parameters: Record<string, unknown>, continueOnFail = false) =>
		runNodeTask({ nodeType: new RetargetingProfile(), parameters: parameters as INodeParameters, items, continueOnFail });

	it('runs once for an execution of 3 items: one item out, paired to the first, with the counts and the cutoff', async () => {
		const started = Date.now();
		const { outputs } = await run({ resource: 'store', operation: 'purge', keepDays: 30 });
		expect(outputs).toHaveLength(1);
		expect(outputs[0]).toHaveLength(1);
		const [out] = outputs[0];
		expect(out.pairedItem).toEqual({ item: 0 });
		expect(out.json).toEqual({ purged: { events: 12, emailEvents: 4 }, before: expect.any(String), keptDays: 30 });
		const before = Date.parse(out.json.before as string);
		expect(before).toBeGreaterThanOrEqual(started - 30 * DAY);
		expect(before).toBeLessThanOrEqual(Date.now() - 30 * DAY);
		expect([await count('rt_events'), await count('rt_email_events')]).toEqual([2, 3]);
	});

	it('keeps 395 days (13 months) and purges the email events by default', async () => {
		const [out] = (await runNode({ nodeType: new RetargetingProfile(), parameters: { resource: 'store', operation: 'purge' }, items }))[0];
		expect(out.json).toMatchObject({ purged: { events: 7, emailEvents: 4 }, keptDays: 395 });
		expect(Date.now() - 395 * DAY - Date.parse(out.json.before as string)).toBeLessThan(60_000);
		expect([await count('rt_events'), await count('rt_email_events')]).toEqual([7, 3]);
	});

	it('leaves the email events alone when the option is off', async () => {
		const { outputs } = await run({ resource: 'store', operation: 'purge', keepDays: 395, purgeOptions: { emailEvents: false } });
		expect(outputs[0].map((i) => i.json.purged)).toEqual([{ events: 7, emailEvents: 0 }]);
		expect(await count('rt_email_events')).toBe(7);
	});

	it('refuses an age under one day, and deletes nothing; with "continue on error", one item says why', async () => {
		await expect(run({ resource: 'store', operation: 'purge', keepDays: '={{ 0 }}' })).rejects.toThrow('Keep Events For (Days) must be at least 1');
		const { outputs } = await run({ resource: 'store', operation: 'purge', keepDays: '={{ 0 }}' }, true);
		expect(outputs[0]).toEqual([{ json: { error: expect.stringContaining('at least 1') }, pairedItem: { item: 0 } }]);
		expect([await count('rt_events'), await count('rt_email_events')]).toEqual([14, 7]);
	});
});
