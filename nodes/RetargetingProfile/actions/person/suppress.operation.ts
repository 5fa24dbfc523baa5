import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { textParameter } from '../../../shared/parameters/textParameter';
import type { RetargetingStore } from '../../../shared/store/store';
import { type Lookup, notFound, readLookup, refOf } from './lookup';

export const description: INodeProperties[] = [
	{
		displayName: 'Reason',
		name: 'reason',
		type: 'string',
		default: '',
		placeholder: 'Hard bounce',
		displayOptions: { show: { operation: ['suppress'] } },
		description: 'Why the person is suppressed, kept with the profile',
	},
];

/** Never emails or targets the person again, whatever their consent; free of n8n types so it is tested directly. */
export async function suppressPerson(store: RetargetingStore, lookup: Lookup, reason?: string): Promise<Record<string, unknown>> {
	const profile = await store.setSuppressed(refOf(lookup), true, reason || undefined);
	return profile ? { found: true, ...profile } : notFound(lookup);
}

export async function execute(this: IExecuteFunctions, store: RetargetingStore, i: number): Promise<INodeExecutionData[]> {
	const lookup = readLookup(this, i);
	const reason = textParameter(this, 'reason', i);
	return [{ json: (await suppressPerson(store, lookup, reason)) as IDataObject, pairedItem: { item: i } }];
}
