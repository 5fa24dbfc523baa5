import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { AttributionLog } from '../../nodes/AttributionLog/AttributionLog.node.ts';
import { openEmbeddedStore } from '../../nodes/shared/store/open.ts';
import { eventAt } from '../harness/events.ts';
import { runNode, runNodeTask } from '../harness/run-node.ts';

const HOUR = 3_600_000;

/** The Attribution Log run by n8n-core in-process, as in a workflow, on the embedded store. */
describe('the Attribution Log node, run by n8n-core', () => {
	const dir = mkdtempSync(path.join(tmpdir(), 'rt-attribution-node-'));
	process.env.RETARGETING_SQLITE_FILE = path.join(dir, 'store.sqlite');
	const now = Date.now();

	beforeAll(async () => {
		const store = await openEmbeddedStore();
		await store.appendEvents([
			eventAt(now - 50 * HOUR, { type: 'track', event: 'Product Viewed', userId: 'ada', traits: { email: 'ada@example.com' }, context: { page: { url: 'https://shop.test/p/1?gclid=G1' } } }),
			eventAt(now - 40 * HOUR, { type: 'identify', userId: 'bo' }),
		]);
	});

	afterAll(() => rmSync(dir, { recursive: true, force: true }));

	const run = (parameters: Record<string, unknown>, items: INodeExecutionData[], continueOnFail = false) =>
		runNodeTask({ nodeType: new AttributionLog(), parameters: parameters as INodeParameters, items, continueOnFail });

	it('logs an email click, then a conversion whose credit rows sum to its revenue under each model; logging either again counts it once', async () => {
		const click = { operation: 'logTouchpoint', personIdKind: 'email', personField: 'email', kind: 'email_clicked', campaign: 'cart-recovery', occurredAt: new Date(now - 2 * HOUR).toISOString() };
		const [touched] = await runNode({ nodeType: new AttributionLog(), parameters: click, items: [{ json: { email: 'ADA@example.com' } }] });
		expect(touched[0].json.touchpoint).toMatchObject({ kind: 'email_clicked', campaign: 'cart-recovery', channel: null, duplicate: false });
		// A retried execution logs the same click again: it is a duplicate and the path below keeps one email click.
		const [retried] = await runNode({ nodeType: new AttributionLog(), parameters: click, items: [{ json: { email: 'ada@example.com' } }] });
		expect(retried[0].json.touchpoint).toMatchObject({ kind: 'email_clicked', duplicate: true });

		const order = { json: { userId: 'ada', properties: { order_id: 'o-1', revenue: 80, currency: 'EUR' }, timestamp: new Date(now - HOUR).toISOString() } };
		const conversion = { operation: 'logConversion', personIdKind: 'userId', personField: 'userId', models: ['lastTouch', 'linear', 'positionBased', 'markov'] };
		const { outputs } = await run(conversion, [order]);
		const rows = outputs[0].map((i) => i.json);
		expect(rows.filter((r) => r.model === 'lastTouch')).toEqual([
			expect.objectContaining({ orderId: 'o-1', channel: 'Email', campaign: 'cart-recovery', share: 1, revenue: 80, currency: 'EUR', duplicate: false, pathLength: 2 }),
		]);
		expect(rows.filter((r) => r.model === 'linear').map((r) => [r.channel, r.revenue])).toEqual([
			['Paid Search', 40],
			['Email', 40],
		]);
		for (const model of conversion.models) expect(rows.filter((r) => r.model === model).reduce((s, r) => s + Number(r.revenue), 0)).toBeCloseTo(80, 9);
		expect(outputs[0].every((i) => (i.pairedItem as { item: number }).item === 0)).toBe(true);

		const again = await run(conversion, [{ json: { ...order.json, properties: { order_id: 'o-1', revenue: 999 } } }]);
		expect(again.outputs[0].filter((i) => i.json.model === 'lastTouch').map((i) => [i.json.duplicate, i.json.revenue])).toEqual([[true, 80]]);
	});

	it("keeps a touchpoint once per Touchpoint ID (the provider's event ID), in one run and across runs", async () => {
		const store = await openEmbeddedStore();
		await store.appendEvents([eventAt(now - 30 * HOUR, { type: 'identify', userId: 'cy' })]);
		const opened = { operation: 'logTouchpoint', personIdKind: 'userId', personField: 'userId', kind: 'email_opened', campaign: 'winback', touchpointId: '={{ $json.event_id }}' };
		const open = (eventId: string) => ({ json: { userId: 'cy', event_id: eventId } });
		const { outputs } = await run(opened, [open('evt-1'), open('evt-1'), open('evt-2')]);
		expect(outputs[0].map((i) => (i.json.touchpoint as { duplicate: boolean }).duplicate)).toEqual([false, true, false]);
		const again = await run(opened, [open('evt-2'), open('evt-3')]);
		expect(again.outputs[0].map((i) => (i.json.touchpoint as { duplicate: boolean }).duplicate)).toEqual([true, false]);
		const [{ n }] = await store.driver.all<{ n: number }>("SELECT COUNT(*) AS n FROM rt_touchpoints WHERE kind = 'email_opened'");
		expect(Number(n)).toBe(3);
	});

	it('reports the period as rows for a spreadsheet, or one summary with an HTML table', async () => {
		const [rows] = await runNode({ nodeType: new AttributionLog(), parameters: { operation: 'report', output: 'rows', models: ['lastTouch', 'firstTouch'] }, items: [{ json: {} }] });
		expect(rows[0].json).toMatchObject({ section: 'total', conversions: 1, revenue: 80 });
		expect(rows.filter((r) => r.json.section === 'channel').map((r) => [r.json.model, r.json.channel, r.json.revenue])).toEqual([
			['firstTouch', 'Paid Search', 80],
			['lastTouch', 'Email', 80],
		]);
		const [[summary]] = await runNode({ nodeType: new AttributionLog(), parameters: { operation: 'report', models: ['lastTouch'] }, items: [{ json: {} }] });
		expect(summary.json).toMatchObject({ conversions: 1, revenue: 80, topPaths: [{ path: 'Paid Search > Email', conversions: 1, revenue: 80 }] });
		expect(summary.json.html).toContain('<td style="padding:4px 8px;border-bottom:1px solid #ddd;text-align:left">Email</td>');
	});

	it('bad input names the field: an unknown person, an empty order ID, a bad date; with continue on fail only that item fails', async () => {
		const conversion = { operation: 'logConversion', personIdKind: 'userId', personField: 'userId' };
		await expect(run(conversion, [{ json: { userId: 'nobody', properties: { order_id: 'x' } } }])).rejects.toThrow('This person is not in the retargeting store');
		await expect(run(conversion, [{ json: { userId: 'bo', properties: {} } }])).rejects.toThrow('Order ID: must not be empty');
		await expect(run({ ...conversion, occurredAt: 'yesterday-ish' }, [{ json: { userId: 'bo', properties: { order_id: 'o-2' } } }])).rejects.toThrow('Occurred At: "yesterday-ish" is not a date');
		await expect(run({ operation: 'report', options: { channelRules: 'click gclid' } }, [{ json: {} }])).rejects.toThrow('Channel rules, line 1');
		const { outputs } = await run(conversion, [{ json: { userId: 'nobody', properties: { order_id: 'x' } } }, { json: { userId: 'bo', properties: { order_id: 'o-bo', revenue: 5 } } }], true);
		expect(outputs[0][0].json.error).toBe('This person is not in the retargeting store');
		expect(outputs[0].filter((i) => i.json.model === 'lastTouch').map((i) => [i.json.orderId, i.json.channel])).toEqual([['o-bo', 'Direct']]);
	});
});
