import { type INodeParameters, NodeHelpers } from 'n8n-workflow';

import { SegmentFilter } from '../../nodes/SegmentFilter/SegmentFilter.node.ts';

/**
 * What n8n keeps of a condition's parameters when it loads a workflow: a field hidden by its
 * display options is dropped and its default used instead, so a wrong hide silently changes a
 * segment. Read through n8n's own getNodeParameters, as the editor and the executions do.
 */
describe('segment condition parameters as n8n reads them', () => {
	const { description } = new SegmentFilter();
	const resolved = (condition: Record<string, unknown>) => {
		const parameters = NodeHelpers.getNodeParameters(
			description.properties,
			{ segments: { segment: [{ name: 'S', conditions: { condition: [condition] } }] } } as unknown as INodeParameters,
			true,
			false,
			{ typeVersion: 1 },
			description,
		) as { segments: { segment: Array<{ conditions: { condition: Array<Record<string, unknown>> } }> } };
		return parameters.segments.segment[0].conditions.condition[0];
	};

	it.each([
		['behaviour', { conditionType: 'behaviour', event: 'Product Viewed' }],
		['funnelStage', { conditionType: 'funnelStage', stage: 'product' }],
		['score', { conditionType: 'score' }],
		['rfm frequency', { conditionType: 'rfm', measure: 'frequency' }],
	])('keeps the window of a %s condition', (_name, condition) => {
		expect(resolved({ ...condition, withinDays: 1 })).toMatchObject({ withinDays: 1 });
	});

	it('has no window for recency, the days since the last order', () => {
		expect(resolved({ conditionType: 'rfm', measure: 'recency', withinDays: 1 })).not.toHaveProperty('withinDays');
	});
});
