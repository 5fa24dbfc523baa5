import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { RetargetingStore } from '../../../shared/store/store';
import { type Lookup, notFound, readLookup, refOf } from './lookup';

export const description: INodeProperties[] = [
	{
		displayName: 'Include History',
		name: 'includeHistory',
		type: 'boolean',
		default: false,
		displayOptions: { show: { resource: ['person'], operation: ['get'] } },
		description: 'Whether to add the events of the person, oldest first, including those from before they identified',
	},
	{
		displayName: 'History Limit',
		name: 'historyLimit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		displayOptions: { show: { resource: ['person'], operation: ['get'], includeHistory: [true] } },
		description: 'Max number of events to return',
	},
];

/**
 * The profile, its identities, consent and counters, its company (from group calls; null when none,
 * with the companies it left), its predictive figures under the latest fit (null before the first
 * Fit Models, or for someone who never ordered), and its events when asked; free of n8n types so it
 * is tested directly.
 */
export async function getPerson(
	store: RetargetingStore,
	lookup: Lookup,
	history: { includeHistory?: boolean; historyLimit?: number } = {},
): Promise<Record<string, unknown>> {
	const profile = await store.findProfile(refOf(lookup));
	if (!profile) return notFound(lookup);
	const memberships = await store.membershipsOf(profile.id);
	const current = memberships.find((m) => m.leftAt === null);
	return {
		found: true,
		...profile,
		company: current ? { ...current.account, joinedAt: current.joinedAt } : null,
		formerCompanies: memberships.filter((m) => m.leftAt !== null).map((m) => ({ id: m.accountId, name: m.account.traits.name ?? null, joinedAt: m.joinedAt, leftAt: m.leftAt })),
		prediction: await store.prediction(profile.id),
		...(history.includeHistory ? { history: await store.history(profile.id, history.historyLimit ?? 50) } : {}),
	};
}

export async function execute(this: IExecuteFunctions, store: RetargetingStore, i: number): Promise<INodeExecutionData[]> {
	const lookup = readLookup(this, i);
	const history = {
		includeHistory: this.getNodeParameter('includeHistory', i, false) as boolean,
		historyLimit: this.getNodeParameter('historyLimit', i, 50) as number,
	};
	return [{ json: (await getPerson(store, lookup, history)) as IDataObject, pairedItem: { item: i } }];
}
