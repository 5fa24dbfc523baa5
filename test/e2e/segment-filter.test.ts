import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import type { N8nInstance } from '../harness/n8n.ts';
import { startTestInstance } from '../harness/instance.ts';

const WRITE_KEY = `wk_${randomBytes(16).toString('hex')}`;

const node = (name: string, type: string, x: number, parameters: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
	id: randomUUID(),
	name,
	type,
	typeVersion: 1,
	position: [x, 0],
	parameters,
	...extra,
});

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
		const workflowId = await n8n.publishWorkflow({
			name: 'Checkout follow-up',
			nodes: [
				node(
					'Tracking Trigger',
					'n8n-nodes-retargeting.trackingTrigger',
					0,
					{ path: 'guard', triggerOn: ['Checkout Started'] },
					{ credentials: { retargetingTrackingApi: { id: source, name: 'Shop' } } },
				),
				{ ...node('Wait', 'n8n-nodes-base.wait', 220, { amount: 4, unit: 'seconds' }), typeVersion: 1.1 },
				node('Segment Filter', 'n8n-nodes-retargeting.segmentFilter', 440, {
					cartField: 'properties.cart_id',
					segments: {
						segment: [
							{
								name: 'Still abandoned',
								conditions: {
									condition: [
										{ conditionType: 'noOrderSinceCart' },
										{ conditionType: 'consent', channel: 'email', explicit: true },
										{ conditionType: 'notSuppressed' },
									],
								},
							},
						],
					},
				}),
				node('Recover', 'n8n-nodes-base.noOp', 660, {}),
				node('Skip', 'n8n-nodes-base.noOp', 660, {}),
			],
			connections: {
				'Tracking Trigger': { main: [[{ node: 'Wait', type: 'main', index: 0 }]] },
				Wait: { main: [[{ node: 'Segment Filter', type: 'main', index: 0 }]] },
				'Segment Filter': { main: [[{ node: 'Recover', type: 'main', index: 0 }], [{ node: 'Skip', type: 'main', index: 0 }], []] },
			},
		});
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
				const [item] = [...(run.Recover?.[0].data?.main[0] ?? []), ...(run.Skip?.[0].data?.main[0] ?? [])];
				return { output: run.Recover ? 'Recover' : 'Skip', json: item.json as { profile: { email: string }; segment: { name: string | null; facts: Record<string, unknown> } } };
			})
			.sort((a, b) => a.json.profile.email.localeCompare(b.json.profile.email));
		expect(outputs.map((o) => `${o.json.profile.email} → ${o.output}`)).toEqual(['ada@example.com → Recover', 'bob@example.com → Skip']);
		expect(outputs[0].json.segment).toMatchObject({ name: 'Still abandoned', facts: { cart: { id: 'c-ada', status: 'open' }, 'email consent': true } });
		expect(outputs[1].json.segment).toMatchObject({ name: null, facts: { cart: { id: 'c-bob', status: 'converted' } } });
	}, 180_000);
});
