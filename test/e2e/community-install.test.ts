import { randomBytes } from 'node:crypto';

import type { N8nInstance, WorkflowJson } from '../harness/n8n.ts';
import { startTestInstance } from '../harness/instance.ts';

const WRITE_KEY = `wk_${randomBytes(16).toString('hex')}`;

function trackingWorkflow(credentialId: string, webhookPath: string): WorkflowJson {
	return {
		name: `Tracking ${webhookPath}`,
		nodes: [
			{
				id: 'a1b2c3d4-0000-4000-8000-000000000001',
				name: 'Tracking Trigger',
				type: 'n8n-nodes-retargeting.trackingTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: { path: webhookPath },
				credentials: { retargetingTrackingApi: { id: credentialId, name: 'Shop source' } },
			},
			{
				id: 'a1b2c3d4-0000-4000-8000-000000000002',
				name: 'No Operation',
				type: 'n8n-nodes-base.noOp',
				typeVersion: 1,
				position: [220, 0],
				parameters: {},
			},
		],
		connections: {
			'Tracking Trigger': { main: [[{ node: 'No Operation', type: 'main', index: 0 }]] },
		},
	};
}

describe('the package installed as a community package in a real n8n', () => {
	let n8n: N8nInstance & { dispose(): Promise<void> };
	let workflowId: string;

	beforeAll(async () => {
		n8n = await startTestInstance();
		const credentialId = await n8n.createCredential('retargetingTrackingApi', 'Shop source', {
			writeKey: WRITE_KEY,
		});
		workflowId = await n8n.publishWorkflow(trackingWorkflow(credentialId, 'shop-events'));
		await n8n.waitForWebhook('shop-events');
	}, 300_000);

	afterAll(async () => {
		await n8n?.dispose();
	}, 60_000);

	it('runs n8n 2.x and lists the node under the package name', async () => {
		expect(await n8n.nodeTypeNames()).toContain('n8n-nodes-retargeting.trackingTrigger');
		expect(n8n.runtime.version).toMatch(/^2\./);
	});

	it('answers a POST on the production webhook and starts the workflow with the event', async () => {
		const event = { type: 'track', event: 'Checkout Started', anonymousId: 'anon-1', messageId: 'm-1' };
		const res = await n8n.webhook('shop-events', {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
			},
			body: JSON.stringify(event),
		});
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: 0, rejections: [] });

		const [execution] = await n8n.waitForExecutions(workflowId, 1);
		expect(execution.status).toBe('success');
		const out = execution.data?.resultData.runData['No Operation'][0].data?.main[0];
		expect(out?.map((item) => item.json)).toEqual([expect.objectContaining({ ...event, profileId: expect.any(String) })]);
	});

	it('refuses a wrong write key with 401 and starts nothing', async () => {
		const before = (await n8n.executions(workflowId)).length;
		const res = await n8n.webhook('shop-events', {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				authorization: `Basic ${Buffer.from('not-the-key:').toString('base64')}`,
			},
			body: JSON.stringify({ type: 'track', event: 'Order Completed' }),
		});
		expect(res.status).toBe(401);
		expect(res.headers.get('www-authenticate')).toContain('Basic');
		expect((await n8n.executions(workflowId)).length).toBe(before);
	});
});
