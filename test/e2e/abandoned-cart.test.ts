import { randomBytes, randomUUID } from 'node:crypto';

import type { N8nInstance, WorkflowJson } from '../harness/n8n.ts';
import { startTestInstance } from '../harness/instance.ts';

const WRITE_KEY = `wk_${randomBytes(16).toString('hex')}`;

const noOp = () => ({ id: randomUUID(), name: 'No Operation', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [220, 0], parameters: {} });

function withNoOp(name: string, trigger: Record<string, unknown> & { name: string; type: string }): WorkflowJson {
	return { name, nodes: [trigger, noOp()], connections: { [trigger.name]: { main: [[{ node: 'No Operation', type: 'main', index: 0 }]] } } };
}

describe('the Abandoned Cart Trigger in a real n8n, fed by the Tracking Trigger', () => {
	let n8n: N8nInstance & { dispose(): Promise<void> };

	beforeAll(async () => {
		n8n = await startTestInstance();
	}, 300_000);

	afterAll(async () => {
		await n8n?.dispose();
	}, 60_000);

	it('emits step 1 for abandoned checkouts, and stops the sequence of a person who then orders', async () => {
		const source = await n8n.createCredential('retargetingTrackingApi', 'Shop', { writeKey: WRITE_KEY });
		await n8n.publishWorkflow(
			withNoOp('Collect', {
				id: randomUUID(),
				name: 'Tracking Trigger',
				type: 'n8n-nodes-retargeting.trackingTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: { path: 'shop' },
				credentials: { retargetingTrackingApi: { id: source, name: 'Shop' } },
			}),
		);
		await n8n.waitForWebhook('shop');
		const send = async (batch: unknown[]) => expect(await n8n.track('shop', WRITE_KEY, batch)).toMatchObject({ rejected: 0 });
		const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();
		const checkout = (who: string) => [
			{ type: 'identify', anonymousId: who, traits: { email: `${who}@example.com`, first_name: who }, timestamp: ago(20) },
			{ type: 'track', event: 'Checkout Started', anonymousId: who, timestamp: ago(10), properties: { cart_id: `c-${who}`, value: 42, currency: 'EUR', products: [{ product_id: 'sku-1', name: 'Mug', price: 42, quantity: 1 }] } },
		];
		await send([
			...checkout('ada'),
			...checkout('carol'),
			...checkout('bob'),
			{ type: 'track', event: 'Order Completed', anonymousId: 'bob', timestamp: ago(5), properties: { order_id: 'o-bob', cart_id: 'c-bob', revenue: 42 } },
		]);

		// Step 1 after 5 s, step 2 after 30 s. n8n polls on publishing, then once a minute at a random
		// second: step 2 comes with the first or the second of those polls.
		const abandonedId = await n8n.publishWorkflow(
			withNoOp('Abandoned carts', {
				id: randomUUID(),
				name: 'Abandoned Cart Trigger',
				type: 'n8n-nodes-retargeting.abandonedCartTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: { steps: '5s, 30s', recoveryUrl: 'https://shop.test/restore?cart={cart_id}', pollTimes: { item: [{ mode: 'everyMinute' }] } },
			}),
		);
		const itemsOf = (execution: Awaited<ReturnType<typeof n8n.executions>>[number]) =>
			(execution.data?.resultData.runData['No Operation'][0].data?.main[0] ?? []).map((i) => i.json as { cartId: string; step: number; recoveryUrl: string; profile: { email: string } });

		const [first] = await n8n.waitForExecutions(abandonedId, 1);
		const step1 = itemsOf(first).sort((a, b) => a.cartId.localeCompare(b.cartId));
		expect(step1.map((i) => `${i.cartId}:${i.step}`)).toEqual(['c-ada:1', 'c-carol:1']);
		expect(step1[0]).toMatchObject({ recoveryUrl: 'https://shop.test/restore?cart=c-ada', profile: { email: 'ada@example.com' } });

		await send([{ type: 'track', event: 'Order Completed', anonymousId: 'ada', properties: { order_id: 'o-ada', cart_id: 'c-ada', revenue: 42 } }]);

		const executions = await n8n.waitForExecutions(abandonedId, 2, 150_000);
		const second = executions.find((e) => e.id !== first.id);
		expect(second && itemsOf(second).map((i) => `${i.cartId}:${i.step}`)).toEqual(['c-carol:2']);
	}, 240_000);
});
