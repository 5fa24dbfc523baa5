import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { RetargetingStore } from '../../../shared/store/store';
import { type Lookup, notFound, readLookup, refOf } from './lookup';

export const description: INodeProperties[] = [];

/** Right to erasure: deletes every row about the person, and says how many of each kind; free of n8n types so it is tested directly. */
export async function erasePerson(store: RetargetingStore, lookup: Lookup): Promise<Record<string, unknown>> {
	const deleted = await store.eraseProfile(refOf(lookup));
	return deleted ? { erased: true, deleted } : { erased: false, ...notFound(lookup) };
}

export async function execute(this: IExecuteFunctions, store: RetargetingStore, i: number): Promise<INodeExecutionData[]> {
	return [{ json: (await erasePerson(store, readLookup(this, i))) as IDataObject, pairedItem: { item: i } }];
}
