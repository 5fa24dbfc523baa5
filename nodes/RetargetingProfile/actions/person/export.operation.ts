import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { RetargetingStore } from '../../../shared/store/store';
import { type Lookup, notFound, readLookup, refOf } from './lookup';

export const description: INodeProperties[] = [];

/** Everything held about the person, for an access request; free of n8n types so it is tested directly. */
export async function exportPerson(store: RetargetingStore, lookup: Lookup): Promise<Record<string, unknown>> {
	const exported = await store.exportProfile(refOf(lookup));
	return exported ? { found: true, ...exported } : notFound(lookup);
}

export async function execute(this: IExecuteFunctions, store: RetargetingStore, i: number): Promise<INodeExecutionData[]> {
	return [{ json: (await exportPerson(store, readLookup(this, i))) as IDataObject, pairedItem: { item: i } }];
}
