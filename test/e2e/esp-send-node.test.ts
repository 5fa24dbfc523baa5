import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { ICredentialDataDecryptedObject, INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { EspSend } from '../../nodes/EspSend/EspSend.node.ts';
import { parseEvent } from '../../nodes/shared/events/model.ts';
import { openEmbeddedStore } from '../../nodes/shared/store/open.ts';
import { runNode } from '../harness/run-node.ts';
import { decoded, TestSmtpServer } from '../harness/smtp.ts';

/** ESP Send run by n8n-core in-process, as in a workflow, on the embedded store and a real SMTP server. */
describe('the ESP Send node, run by n8n-core', () => {
	const dir = mkdtempSync(path.join(tmpdir(), 'rt-esp-node-'));
	process.env.RETARGETING_SQLITE_FILE = path.join(dir, 'store.sqlite');
	const smtp = new TestSmtpServer();
	let credentials: Record<string, ICredentialDataDecryptedObject>;

	beforeAll(async () => {
		credentials = { retargetingSmtpApi: { host: '127.0.0.1', port: await smtp.start(), secure: false } };
		const store = await openEmbeddedStore();
		let seq = 0;
		for (const [userId, email] of [
			['u-1', 'one@example.com'],
			['u-2', 'two@example.com'],
		]) {
			const parsed = parseEvent({ messageId: `esn-${++seq}`, type: 'identify', userId, traits: { email, first_name: userId }, context: { consent: { email: true } } });
			if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
			await store.appendEvents([parsed.event]);
		}
	});

	afterAll(async () => {
		await smtp.stop();
		rmSync(dir, { recursive: true, force: true });
	});

	const parameters = (extra: Record<string, unknown> = {}) =>
		({
			personIdKind: 'userId',
			personField: 'customer.id',
			fromEmail: 'shop@example.com',
			subject: 'For {first_name}',
			unsubscribeLink: 'custom',
			unsubscribeUrl: '={{ "https://shop.example/u/" + $json.customer.id }}',
			campaign: 'spring',
			...extra,
		}) as unknown as INodeParameters;
	const items: INodeExecutionData[] = [{ json: { customer: { id: 'u-1' }, step: 2 } }, { json: { customer: { id: 'u-2' }, step: 2 } }];

	it('reads the message per item, keys each send by workflow, person and step, and reports under "send"', async () => {
		const [out] = await runNode({ nodeType: new EspSend(), parameters: parameters(), items, credentials, workflowId: 'wf-esp' });
		expect(out.map((i) => i.json.send)).toEqual([
			expect.objectContaining({ status: 'sent', to: 'one@example.com', subject: 'For u-1', key: 'wf-esp:userId:u-1:2' }),
			expect.objectContaining({ status: 'sent', to: 'two@example.com', subject: 'For u-2', key: 'wf-esp:userId:u-2:2' }),
		]);
		expect(out.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(smtp.messages.map((m) => decoded(m.raw).match(/List-Unsubscribe: <([^>]+)>/)?.[1])).toEqual(['https://shop.example/u/u-1', 'https://shop.example/u/u-2']);
		// The same execution again sends nothing.
		const [again] = await runNode({ nodeType: new EspSend(), parameters: parameters(), items, credentials, workflowId: 'wf-esp' });
		expect(again.map((i) => (i.json.send as { reason: string }).reason)).toEqual(['already sent (same idempotency key)', 'already sent (same idempotency key)']);
		expect(smtp.messages).toHaveLength(2);
	});

	it('a bad setting fails the run naming the field, or only its item when continuing on fail', async () => {
		const bad = parameters({ fromEmail: '={{ $json.customer.id === "u-1" ? "not-an-address" : "shop@example.com" }}', campaign: 'other' });
		await expect(runNode({ nodeType: new EspSend(), parameters: bad, items, credentials })).rejects.toThrow('From Email is not an email address');
		const [out] = await runNode({ nodeType: new EspSend(), parameters: bad, items, credentials, continueOnFail: true, workflowId: 'wf-other' });
		expect(out.map((i) => (i.json.send as { status: string }).status)).toEqual(['failed', 'sent']);
		expect(out[0].json.error).toBe('From Email is not an email address');
	});
});
