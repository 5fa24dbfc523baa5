import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, NodeOperationError } from 'n8n-workflow';

import { textParameter } from '../../../shared/parameters/textParameter';
import type { RetargetingStore } from '../../../shared/store/store';
import { type Lookup, type LookupKind, lookupOptions, notFound, readLookup, refOf } from './lookup';

const show = { show: { operation: ['merge'] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Merge From: Find By',
		name: 'mergeLookupBy',
		type: 'options',
		options: lookupOptions,
		default: 'anonymousId',
		displayOptions: show,
		description: 'The profile to merge into the first one; it is deleted after the merge',
	},
	{
		displayName: 'Merge From: Value',
		name: 'mergeLookupValue',
		type: 'string',
		default: '',
		required: true,
		displayOptions: show,
	},
];

/** Merges the profile `from` into the one `lookup` finds, which keeps its ID; free of n8n types so it is tested directly. */
export async function mergePeople(store: RetargetingStore, lookup: Lookup, from: Lookup): Promise<Record<string, unknown>> {
	const profile = await store.mergeProfiles(refOf(lookup), refOf(from));
	return profile ? { found: true, ...profile } : notFound(lookup);
}

export async function execute(this: IExecuteFunctions, store: RetargetingStore, i: number): Promise<INodeExecutionData[]> {
	const lookup = readLookup(this, i);
	const from = { by: this.getNodeParameter('mergeLookupBy', i) as LookupKind, value: textParameter(this, 'mergeLookupValue', i) };
	if (!from.value) throw new NodeOperationError(this.getNode(), 'The value of the profile to merge from is empty', { itemIndex: i });
	return [{ json: (await mergePeople(store, lookup, from)) as IDataObject, pairedItem: { item: i } }];
}
