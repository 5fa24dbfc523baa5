import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { TrackedEvent } from '../../nodes/shared/events/model.ts';
import { SqliteDriver } from '../../nodes/shared/store/sqlite-driver.ts';
import { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { simulateOrders } from '../harness/customers.ts';
import { eventAt } from '../harness/events.ts';
import { startTestInstance } from '../harness/instance.ts';
import type { N8nInstance, WorkflowJson } from '../harness/n8n.ts';
import { repoRoot } from '../harness/paths.ts';
import { decoded, TestSmtpServer } from '../harness/smtp.ts';

const DAY = 86_400_000;
const PRODUCTS = ['Tea', 'Coffee', 'Jam', 'Honey', 'Biscuits', 'Chocolate', 'Olive Oil', 'Mustard'];

/** The shipped reactivation workflow in a real n8n, on its instance store (embedded), emailing over SMTP. */
describe('the shipped reactivation workflow in a real n8n', () => {
	let n8n: N8nInstance & { dispose(): Promise<void> };
	let store: RetargetingStore;
	const smtp = new TestSmtpServer();
	let smtpPort: number;
	const template = JSON.parse(readFileSync(path.join(repoRoot(), 'workflows', 'reactivation.json'), 'utf8')) as WorkflowJson;
	const node = (name: string) => template.nodes.find((n) => n.name === name) as unknown as { parameters: Record<string, unknown>; credentials?: unknown };

	beforeAll(async () => {
		smtpPort = await smtp.start();
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
		await smtp.stop();
	}, 60_000);

	it('runs every morning: fits the models first, then selects the lapsing customers in the top 20 % by predicted value, with a 10 % holdout', () => {
		const trigger = template.nodes.find((n) => n.type === 'n8n-nodes-base.scheduleTrigger')!;
		expect(trigger.parameters).toEqual({ rule: { interval: [{ field: 'days', daysInterval: 1, triggerAtHour: 9, triggerAtMinute: 0 }] } });
		expect(template.connections[trigger.name]).toEqual({ main: [[{ node: 'Fit the predictive models', type: 'main', index: 0 }]] });
		expect(node('Lapsing, high-value customers').parameters.segmentConditions).toEqual({
			condition: [
				{ conditionType: 'probabilityActive', probabilityOperator: 'lt', probabilityPercent: 50 },
				{ conditionType: 'predictedValue', valueOperator: 'topPercent', topPercent: 20 },
			],
		});
		expect(node('Emailable? (10 % held out)').parameters).toMatchObject({ holdoutPercent: 10, campaign: 'reactivation' });
		expect(node('ESP Send').parameters).toMatchObject({ campaign: 'reactivation' });
		expect(template.nodes.find((n) => n.type === 'n8n-nodes-base.stickyNote')).toBeDefined();
	});

	it('emails the lapsed customer worth the most, with products picked for her; not the active one nor the lapsed one worth little; a second run sends nothing', async () => {
		const now = Date.now();
		// Past events, received when they happened: the recommendations' refresh reads them as history.
		const past = (daysAgo: number, raw: Record<string, unknown>): TrackedEvent => {
			const at = now - daysAgo * DAY;
			return { ...eventAt(at, raw), receivedAt: new Date(at).toISOString() };
		};
		const order = (userId: string, id: string, daysAgo: number, revenue: number, product: string) =>
			past(daysAgo, {
				type: 'track',
				event: 'Order Completed',
				userId,
				properties: {
					order_id: id,
					revenue,
					currency: 'EUR',
					products: [{ product_id: product.toLowerCase().replace(/ /g, '-'), name: product, price: revenue, quantity: 1, url: `https://shop.example/p/${product}`, image_url: `https://shop.example/img/${product}.jpg` }],
				},
			});
		// A year of a shop's customers, as BG/NBD tells their story (test/harness/customers.ts); none gave email consent.
		const background = [...simulateOrders(400, now)].flatMap(([userId, orders]) =>
			orders.map((o, k) => order(userId, o.id, (now - o.at) / DAY, o.revenue, PRODUCTS[(userId.length + k) % PRODUCTS.length])),
		);
		const customer = (userId: string, firstName: string, every: number, lastDaysAgo: number, orders: number, revenue: number) => [
			past(lastDaysAgo + every * orders + 1, { type: 'identify', userId, traits: { email: `${userId}@example.com`, first_name: firstName }, context: { consent: { email: true } } }),
			...Array.from({ length: orders }, (_, k) => order(userId, `${userId}-${k}`, lastDaysAgo + every * (orders - 1 - k), revenue, PRODUCTS[k % 2])),
		];
		// Lina bought every two weeks for half a year, big baskets, and stopped 90 days ago; Max buys
		// as she did and ordered 3 days ago; Noé bought three small ones and has been gone since.
		await store.appendEvents([
			...background,
			...customer('lina', 'Lina', 14, 90, 12, 180),
			...customer('max', 'Max', 14, 3, 12, 180),
			...customer('noe', 'Noé', 20, 200, 3, 8),
		]);

		const mail = await n8n.createCredential('retargetingSmtpApi', 'Mail', { host: '127.0.0.1', port: smtpPort, secure: false });
		const unsubscribe = await n8n.createCredential('retargetingUnsubscribeApi', 'Unsubscribe page', {
			publicUrl: `${n8n.baseUrl}/webhook/unsubscribe`,
			secret: randomBytes(24).toString('hex'),
			shopName: 'The Shop',
			backUrl: 'https://shop.example',
		});
		// As a user fills it in, with the holdout off so that the one customer it selects is emailed.
		node('ESP Send').credentials = { retargetingSmtpApi: { id: mail, name: 'Mail' }, retargetingUnsubscribeApi: { id: unsubscribe, name: 'Unsubscribe page' } };
		node('Emailable? (10 % held out)').parameters.holdoutPercent = 0;
		const workflowId = await n8n.createWorkflow({ name: template.name, nodes: template.nodes, connections: template.connections, settings: template.settings });
		// This morning's run, now: the schedule's item pinned, as "Debug in editor" does.
		const execution = await n8n.waitForExecution(await n8n.runWithPinnedTrigger(workflowId, 'Every day at 9:00', [{ json: { timestamp: new Date(now).toISOString() } }]), 120_000);
		expect(execution.data?.resultData.error?.message).toBeUndefined();
		expect(execution.status).toBe('success');
		const run = execution.data!.resultData.runData;
		const out = (name: string, output = 0) => run[name]?.[0].data?.main[output]?.map((i) => i.json) ?? [];

		const [fit] = out('Fit the predictive models');
		expect(fit).toMatchObject({ customers: 403, bgNbd: { converged: true }, gammaGamma: { converged: true } });
		expect(fit.reading).toMatch(/^A typical customer buys about every \d+ days while active; \d+ % of the 403 customers are likely still active/);

		const selected = out('Lapsing, high-value customers');
		const emails = selected.map((j) => j.email);
		expect(emails).toContain('lina@example.com');
		expect(emails).not.toContain('max@example.com');
		expect(emails).not.toContain('noe@example.com');
		const lina = selected.find((j) => j.email === 'lina@example.com')!;
		const figures = (lina.segment as { facts: { prediction: { probabilityActivePercent: number; predictedValueTopPercent: number } } }).facts.prediction;
		expect(figures.probabilityActivePercent).toBeLessThan(50);
		expect(figures.predictedValueTopPercent).toBeLessThanOrEqual(20);
		// Why the other two are not in it, from the Profile node's figures of the same fit.
		const max = (await store.prediction((await store.findProfile({ userId: 'max' }))!.id)) as { probabilityActivePercent: number };
		const noe = (await store.prediction((await store.findProfile({ userId: 'noe' }))!.id)) as { probabilityActivePercent: number; predictedValueTopPercent: number };
		expect(max.probabilityActivePercent).toBeGreaterThanOrEqual(50);
		expect(noe.probabilityActivePercent).toBeLessThan(50);
		expect(noe.predictedValueTopPercent).toBeGreaterThan(20);

		// The background customers gave no consent: only Lina is emailed.
		expect(out('ESP Send').map((j) => (j.send as { status: string; to: string }).status + ' ' + (j.send as { to: string }).to)).toEqual(['sent lina@example.com']);
		await smtp.waitFor(1, 30_000);
		expect(smtp.messages.map((m) => m.to)).toEqual([['lina@example.com']]);
		const raw = decoded(smtp.messages[0].raw);
		expect(raw).toContain('Subject: Lina, it has been a while');
		expect(raw).toMatch(/href="https:\/\/shop\.example\/\?utm_source=smtp&amp;utm_medium=email&amp;utm_campaign=reactivation&amp;[^"]*rt_cid=[0-9a-f]{16}"/);
		// Products picked for her: never one she bought (Tea, Coffee).
		const recommended = (out('Recommend products')[0].recommendations as Array<{ name: string }>).map((p) => p.name);
		expect(recommended.length).toBeGreaterThan(0);
		expect(recommended).not.toContain('Tea');
		expect(recommended).not.toContain('Coffee');
		expect(raw).toContain(recommended[0]);
		// The send, recorded for the frequency cap and as the touchpoint the weekly report credits.
		expect(await store.driver.all('SELECT channel, campaign, status FROM rt_sends')).toEqual([{ channel: 'email', campaign: 'reactivation', status: 'sent' }]);

		// Tomorrow's run finds her again, but she was emailed this week: nothing is sent.
		const again = await n8n.waitForExecution(await n8n.runWithPinnedTrigger(workflowId, 'Every day at 9:00', [{ json: {} }]), 120_000);
		expect(again.status).toBe('success');
		expect(again.data!.resultData.runData['ESP Send']).toBeUndefined();
		const notEmailable = again.data!.resultData.runData['Not emailable (no consent, suppressed, emailed this week)'][0].data!.main[0]!.map((i) => i.json);
		expect((notEmailable.find((j) => j.email === 'lina@example.com')!.segment as { facts: Record<string, unknown> }).facts).toMatchObject({ 'email sends': 1 });
		expect(smtp.messages).toHaveLength(1);
	}, 300_000);
});
