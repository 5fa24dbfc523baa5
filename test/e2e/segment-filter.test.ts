import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { N8nInstance, WorkflowJson } from '../harness/n8n.ts';
import { repoRoot } from '../harness/paths.ts';
import { startTestInstance } from '../harness/instance.ts';

const WRITE_KEY = `wk_${randomBytes(16).toString('hex')}`;

describe('the Segment Filter in a real n8n, as the guard after a Wait', () => {
	let n8n: N8nInstance & { dispose(): Promise<void> };

	beforeAll(async () => {
		n8n = await startTestInstance();
	}, 300_000);

	afterAll(async () => {
		await n8n?.dispose();
	}, 60_000);

	it('after the Wait, a person who ordered meanwhile leaves by "No Match", the others by their segment', async () => {
		const source = await n8n.createCredential('retargetingTrackingApi', 'Shop', { writeKey: WRITE_KEY });
		// The shipped template, with its Wait shortened to 4 seconds and the trigger's credential set.
		const template = JSON.parse(readFileSync(path.join(repoRoot(), 'workflows', 'checkout-follow-up.json'), 'utf8')) as WorkflowJson;
		const byName = (name: string) => template.nodes.find((n) => n.name === name) as unknown as { parameters: Record<string, unknown>; credentials?: unknown };
		byName('Checkout Started').parameters.path = 'guard';
		byName('Checkout Started').credentials = { retargetingTrackingApi: { id: source, name: 'Shop' } };
		byName('Wait 1 hour').parameters = { amount: 4, unit: 'seconds' };
		const workflowId = await n8n.publishWorkflow({ name: template.name, nodes: template.nodes, connections: template.connections });
		await n8n.waitForWebhook('guard');
		const send = async (batch: unknown[]) => expect(await n8n.track('guard', WRITE_KEY, batch)).toMatchObject({ rejected: 0 });
		const checkout = (who: string) => [
			{ type: 'identify', anonymousId: who, traits: { email: `${who}@example.com` }, context: { consent: { email: true } } },
			{ type: 'track', event: 'Checkout Started', anonymousId: who, properties: { cart_id: `c-${who}`, value: 42, currency: 'EUR', products: [{ product_id: 'sku-1', name: 'Mug', price: 42, quantity: 1 }] } },
		];
		await send(checkout('ada'));
		await send(checkout('bob'));
		// Bob buys while his execution waits.
		await send([{ type: 'track', event: 'Order Completed', anonymousId: 'bob', properties: { order_id: 'o-bob', revenue: 42 } }]);

		const deadline = Date.now() + 60_000;
		let executions = await n8n.executions(workflowId);
		while (executions.filter((e) => e.status === 'success').length < 2 && Date.now() < deadline) {
			await sleep(500);
			executions = await n8n.executions(workflowId);
		}
		const outputs = executions
			.filter((e) => e.status === 'success')
			.map((e) => {
				const run = e.data!.resultData.runData;
				const [output] = ['Send the reminder', 'Ordered, opted out or capped', 'Holdout (no message)'].filter((n) => run[n]);
				const json = run[output][0].data!.main[0]![0].json as { profile: { email: string }; segment: { name: string | null; holdout: boolean; facts: Record<string, unknown> } };
				return { output, json };
			})
			.sort((a, b) => a.json.profile.email.localeCompare(b.json.profile.email));
		// Ada is still abandoned: she gets the reminder, unless the template's 10 % holdout drew her.
		expect(outputs.map((o) => o.json.profile.email)).toEqual(['ada@example.com', 'bob@example.com']);
		expect(outputs[0].output).toBe(outputs[0].json.segment.holdout ? 'Holdout (no message)' : 'Send the reminder');
		expect(outputs[0].json.segment).toMatchObject({
			name: 'Still abandoned',
			facts: { cart: { id: 'c-ada', status: 'open' }, 'email consent': true, suppressed: false, 'email sends': 0 },
		});
		expect(outputs[1].output).toBe('Ordered, opted out or capped');
		expect(outputs[1].json.segment).toMatchObject({ name: null, facts: { cart: { id: 'c-bob', status: 'converted' } } });
	}, 180_000);
});
