import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { RetargetingStore } from '../../../shared/store/store';
import { type Lookup, notFound, readLookup, refOf } from './lookup';

export const description: INodeProperties[] = [];

/** Lifts a suppression; free of n8n types so it is tested directly. */
export async function unsuppressPerson(store: RetargetingStore, lookup: Lookup): Promise<Record<string, unknown>> {
	const profile = await store.setSuppressed(refOf(lookup), false);
	return profile ? { found: true, ...profile } : notFound(lookup);
}

export async function execute(this: IExecuteFunctions, store: RetargetingStore, i: number): Promise<INodeExecutionData[]> {
	return [{ json: (await unsuppressPerson(store, readLookup(this, i))) as IDataObject, pairedItem: { item: i } }];
}
