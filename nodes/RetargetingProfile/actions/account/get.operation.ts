import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, NodeOperationError } from 'n8n-workflow';

import { textParameter } from '../../../shared/parameters/textParameter';
import type { RetargetingStore } from '../../../shared/store/store';

const show = (extra: Record<string, unknown[]> = {}) => ({ show: { resource: ['account'], operation: ['get'], ...extra } });

export const description: INodeProperties[] = [
	{
		displayName: 'Group ID',
		name: 'groupId',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'acme-sas',
		displayOptions: show(),
		description: "The company's ID, as the groupId of its group calls",
	},
	{
		displayName: 'Include Former People',
		name: 'includeFormer',
		type: 'boolean',
		default: false,
		displayOptions: show(),
		description: 'Whether to add the people who left the company (their later group call named another), after the current ones',
	},
	{
		displayName: 'People Limit',
		name: 'peopleLimit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 100,
		displayOptions: show(),
		description: 'Max number of people to return, the most recent to join first',
	},
];

/** The company with its traits and its people (each profile, when they joined and left); free of n8n types. */
export async function getAccount(store: RetargetingStore, groupId: string, options: { formerToo: boolean; limit: number }): Promise<Record<string, unknown>> {
	const account = await store.findAccount(groupId);
	if (!account) return { found: false, groupId };
	return { found: true, ...account, people: await store.accountPeople(account.id, options) };
}

export async function execute(this: IExecuteFunctions, store: RetargetingStore, i: number): Promise<INodeExecutionData[]> {
	const groupId = textParameter(this, 'groupId', i);
	if (!groupId) {
		throw new NodeOperationError(this.getNode(), 'The group ID is empty', {
			itemIndex: i,
			description: "Set \"Group ID\" to the company's groupId; an expression that resolved to nothing gives this error.",
		});
	}
	const options = { formerToo: this.getNodeParameter('includeFormer', i, false) as boolean, limit: Number(this.getNodeParameter('peopleLimit', i, 100)) };
	return [{ json: (await getAccount(store, groupId, options)) as IDataObject, pairedItem: { item: i } }];
}
