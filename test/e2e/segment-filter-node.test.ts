import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { parseEvent } from '../../nodes/shared/events/model.ts';
import { openEmbeddedStore } from '../../nodes/shared/store/open.ts';
import { SegmentFilter } from '../../nodes/SegmentFilter/SegmentFilter.node.ts';
import { runNode } from '../harness/run-node.ts';

/** The Segment Filter node run by n8n-core in-process, as in a workflow, on the embedded store. */
describe('the Segment Filter node, run by n8n-core', () => {
	const dir = mkdtempSync(path.join(tmpdir(), 'rt-segment-node-'));
	process.env.RETARGETING_SQLITE_FILE = path.join(dir, 'store.sqlite');
	let seq = 0;
	const event = (raw: Record<string, unknown>) => {
		const parsed = parseEvent({ messageId: `sfn-${++seq}`, ...raw });
		if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
		return parsed.event;
	};

	beforeAll(async () => {
		const store = await openEmbeddedStore();
		await store.appendEvents([
			event({ type: 'identify', userId: 'fr-1', traits: { email: 'fr1@example.com', country: 'FR', first_name: 'Ada' }, context: { consent: { email: true } } }),
			event({ type: 'identify', userId: 'de-1', traits: { email: 'de1@example.com', country: 'DE' }, context: { consent: { email: true } } }),
			event({ type: 'identify', userId: 'fr-2', traits: { email: 'fr2@example.com', country: 'FR' }, context: { consent: { email: false } } }),
			event({ type: 'track', event: 'Product Viewed', userId: 'de-1', properties: { product_id: 'p1' } }),
		]);
	});

	afterAll(() => rmSync(dir, { recursive: true, force: true }));

	const parameters = (extra: INodeParameters = {}): INodeParameters =>
		({
			personIdKind: 'userId',
			personField: 'customer.id',
			segments: {
				segment: [
					{ name: 'French with consent', conditions: { condition: [{ conditionType: 'attribute', attribute: 'country', operator: 'equals', value: 'fr' }, { conditionType: 'consent', channel: 'email' }] } },
					{ name: 'Browsers', conditions: { condition: [{ conditionType: 'behaviour', event: 'Product Viewed', withinDays: 7 }] } },
				],
			},
			...extra,
		}) as unknown as INodeParameters;
	const items: INodeExecutionData[] = ['fr-1', 'de-1', 'fr-2', 'nobody'].map((id) => ({ json: { customer: { id } } }));
	const emails = (out: INodeExecutionData[]) => out.map((i) => (i.json.profile as { email?: string } | undefined)?.email ?? String((i.json.customer as { id: string }).id));

	it('has one output per segment, then No Match and Holdout, with paired items and the profile', async () => {
		const [french, browsers, noMatch, holdout] = await runNode({ nodeType: new SegmentFilter(), parameters: parameters(), items });
		expect([french, browsers, noMatch, holdout].map(emails)).toEqual([['fr1@example.com'], ['de1@example.com'], ['fr2@example.com', 'nobody'], []]);
		expect(french[0].pairedItem).toEqual({ item: 0 });
		expect(noMatch.map((i) => i.pairedItem)).toEqual([{ item: 2 }, { item: 3 }]);
		expect(french[0].json).toMatchObject({
			customer: { id: 'fr-1' },
			profile: { traits: { first_name: 'Ada' } },
			segment: { name: 'French with consent', holdout: false, facts: { country: 'FR', 'email consent': true } },
		});
		expect(noMatch[1].json.segment).toMatchObject({ reason: 'this person is not in the store' });
	});

	it('a 100 % holdout sends every matching person to Holdout', async () => {
		const outputs = await runNode({ nodeType: new SegmentFilter(), parameters: parameters({ holdoutPercent: 100, campaign: 'spring' }), items });
		expect(outputs.map(emails)).toEqual([[], [], ['fr2@example.com', 'nobody'], ['fr1@example.com', 'de1@example.com']]);
		expect(outputs[3][0].json.segment).toMatchObject({ holdout: true, campaign: 'spring', name: 'French with consent' });
	});

	it('an item without the person field fails with the field named, or goes to No Match when continuing', async () => {
		const bad = [...items, { json: { other: 1 } }];
		await expect(runNode({ nodeType: new SegmentFilter(), parameters: parameters(), items: bad })).rejects.toThrow('The item has no "customer.id" to find the person by');
		const outputs = await runNode({ nodeType: new SegmentFilter(), parameters: parameters(), items: bad, continueOnFail: true });
		expect(outputs[2].at(-1)!.json.segment).toMatchObject({ reason: 'the item names no person' });
	});

	it('a segment that cannot work is refused with the segment, condition and field named', async () => {
		const broken = parameters({
			segments: { segment: [{ name: 'Scored', conditions: { condition: [{ conditionType: 'behaviour', event: '', withinDays: 7 }] } }] },
		} as unknown as INodeParameters);
		await expect(runNode({ nodeType: new SegmentFilter(), parameters: broken, items })).rejects.toThrow(
			'The segments cannot be used: segment 1 ("Scored"), condition 1: Event: must not be empty',
		);
	});
});
