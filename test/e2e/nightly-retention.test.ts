import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { SqliteDriver } from '../../nodes/shared/store/sqlite-driver.ts';
import { insertRows } from '../../nodes/shared/store/sql.ts';
import { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { eventAt } from '../harness/events.ts';
import { startTestInstance } from '../harness/instance.ts';
import type { N8nInstance, WorkflowJson } from '../harness/n8n.ts';
import { repoRoot } from '../harness/paths.ts';

const DAY = 86_400_000;

/** The shipped nightly retention workflow, imported into a real n8n and run on its instance store (embedded: no RETARGETING_STORE_URL). */
describe('the shipped nightly retention workflow in a real n8n', () => {
	let n8n: N8nInstance & { dispose(): Promise<void> };
	let store: RetargetingStore;
	const template = JSON.parse(readFileSync(path.join(repoRoot(), 'workflows', 'nightly-retention.json'), 'utf8')) as WorkflowJson;

	beforeAll(async () => {
		// The n8n started here must use the store under its own user folder, as a user's would.
		delete process.env.RETARGETING_SQLITE_FILE;
		n8n = await startTestInstance();
		const file = path.join(n8n.userFolder, '.n8n', 'retargeting', 'store.sqlite');
		mkdirSync(path.dirname(file), { recursive: true });
		store = new RetargetingStore(new SqliteDriver(file));
		await store.migrate();
	}, 300_000);

	afterAll(async () => {
		await store?.close();
		await n8n?.dispose();
	}, 60_000);

	it('runs every night at 3:00 on the instance store, keeping 395 days and the email events option on', () => {
		const trigger = template.nodes.find((n) => n.type === 'n8n-nodes-base.scheduleTrigger')!;
		expect(trigger.parameters).toEqual({ rule: { interval: [{ field: 'days', daysInterval: 1, triggerAtHour: 3, triggerAtMinute: 0 }] } });
		const purge = template.nodes.find((n) => n.type === 'n8n-nodes-retargeting.retargetingProfile')!;
		// No store of its own: the instance default, so one setting moves it with every other workflow.
		expect(purge.parameters).toEqual({ resource: 'store', operation: 'purge', keepDays: 395, purgeOptions: { emailEvents: true } });
		expect(template.connections).toEqual({ [trigger.name]: { main: [[{ node: purge.name, type: 'main', index: 0 }]] } });
		expect(template.nodes.find((n) => n.type === 'n8n-nodes-base.stickyNote')).toBeDefined();
	});

	it('deletes the events and email events older than 13 months; recent ones, orders and profiles stay', async () => {
		const now = Date.now();
		const received = (daysAgo: number, raw: Record<string, unknown>) => {
			const at = now - daysAgo * DAY;
			return { ...eventAt(at, raw), receivedAt: new Date(at).toISOString() };
		};
		const old = [
			received(700, { type: 'identify', anonymousId: 'a-1', userId: 'u-1', traits: { email: 'old@example.com' } }),
			...Array.from({ length: 20 }, (_, i) => received(600 - i, { type: 'track', event: 'Product Viewed', anonymousId: 'a-1', properties: { product_id: `p-${i}` } })),
			received(400, { type: 'track', event: 'Order Completed', userId: 'u-1', properties: { order_id: 'o-old', revenue: 42, currency: 'EUR' } }),
		];
		const recent = [
			received(394, { type: 'track', event: 'Product Viewed', userId: 'u-1' }),
			received(30, { type: 'track', event: 'Product Viewed', anonymousId: 'a-2' }),
			received(0, { type: 'page', anonymousId: 'a-2' }),
		];
		await store.appendEvents([...old, ...recent]);
		const profile = await store.findProfile({ userId: 'u-1' });
		const emailAt = (daysAgo: number) => new Date(now - daysAgo * DAY).toISOString();
		await insertRows(store.driver, 'INSERT INTO rt_email_events (provider, event_id, profile_id, send_key, kind, occurred_at, received_at)', [
			['brevo', 'old-1', profile!.id, null, 'delivered', emailAt(500), emailAt(500)],
			['brevo', 'old-2', profile!.id, null, 'opened', emailAt(396), emailAt(396)],
			['brevo', 'new-1', profile!.id, null, 'clicked', emailAt(20), emailAt(20)],
		]);

		const workflowId = await n8n.publishWorkflow({ name: template.name, nodes: template.nodes, connections: template.connections, settings: template.settings });
		// Tonight's run, now: the schedule's item pinned, as "Debug in editor" does.
		const execution = await n8n.waitForExecution(await n8n.runWithPinnedTrigger(workflowId, 'Every night at 3:00', [{ json: { timestamp: new Date().toISOString() } }]), 60_000);
		expect(execution.status).toBe('success');
		const output = execution.data!.resultData.runData['Purge data older than 13 months'][0].data!.main[0]!;
		expect(output).toHaveLength(1);
		expect(output[0].json).toMatchObject({ purged: { events: old.length, emailEvents: 2 }, keptDays: 395 });
		const before = Date.parse(output[0].json.before as string);
		expect(before).toBeGreaterThan(now - 395 * DAY - 5 * 60_000);
		expect(before).toBeLessThan(Date.now() - 395 * DAY + 1000);

		const left = await store.driver.all<{ message_id: string }>('SELECT message_id FROM rt_events');
		expect(left.map((r) => r.message_id).sort()).toEqual(recent.map((e) => e.messageId).sort());
		expect((await store.driver.all<{ event_id: string }>('SELECT event_id FROM rt_email_events')).map((r) => r.event_id)).toEqual(['new-1']);
		expect(await store.driver.all('SELECT order_id, revenue FROM rt_conversions')).toEqual([{ order_id: 'o-old', revenue: 42 }]);
		expect(await store.findProfile({ email: 'old@example.com' })).toMatchObject({ userId: 'u-1', orderCount: 1 });
	}, 120_000);
});
