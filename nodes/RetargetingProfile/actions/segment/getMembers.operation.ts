import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, NodeOperationError } from 'n8n-workflow';

import { offThread } from '../../../shared/offthread/run';
import { conditionProperties } from '../../../shared/parameters/segmentConditionProperties';
import { conditionGroupsFromParameter, type ConditionsParameter } from '../../../shared/parameters/segmentParameters';
import type { RetargetingStore } from '../../../shared/store/store';

const show = { show: { resource: ['segment'] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Conditions',
		name: 'segmentConditions',
		placeholder: 'Add Condition',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		default: {},
		displayOptions: show,
		description: 'The same conditions as the Segment Filter node. No condition: everyone.',
		options: [{ displayName: 'Condition', name: 'condition', values: conditionProperties }],
	},
	{
		displayName: 'Return All',
		name: 'returnAll',
		type: 'boolean',
		default: false,
		displayOptions: show,
		description: 'Whether to return all results or only up to a given limit',
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		displayOptions: { show: { resource: ['segment'], returnAll: [false] } },
		description: 'Max number of results to return',
	},
];

/** The members as the node's items, each built as its page arrives: a million of them never at once. */
export async function execute(this: IExecuteFunctions, store: RetargetingStore, i: number): Promise<INodeExecutionData[]> {
	const conditions = this.getNodeParameter('segmentConditions', i, {}) as ConditionsParameter;
	const parsed = conditionGroupsFromParameter(conditions, this.getTimezone());
	if (!parsed.ok) {
		throw new NodeOperationError(this.getNode(), `The conditions cannot be used: ${parsed.problems[0]}`, {
			itemIndex: i,
			description: parsed.problems.join('\n'),
		});
	}
	const max = this.getNodeParameter('returnAll', i, false) ? undefined : Number(this.getNodeParameter('limit', i, 50));
	// Every profile of the store may be read: done in a worker thread, which sends the members a page at a time.
	const members: INodeExecutionData[] = [];
	for await (const page of offThread(store.driver, 'segmentMembers', { segment: { name: 'Members', groups: parsed.groups }, max })) {
		for (const { profile, facts } of page) members.push({ json: { ...profile, segment: { facts } } as unknown as IDataObject, pairedItem: { item: i } });
	}
	return members;
}
