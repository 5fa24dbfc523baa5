import { type IExecuteFunctions, type INodeProperties, NodeOperationError } from 'n8n-workflow';

import { textParameter } from '../../../shared/parameters/textParameter';
import type { ProfileRef } from '../../../shared/store/store';

export type LookupKind = 'email' | 'userId' | 'anonymousId' | 'profileId';

/** How an operation finds the person it acts on. */
export interface Lookup {
	by: LookupKind;
	value: string;
}

export const lookupOptions = [
	{ name: 'Email', value: 'email' },
	{ name: 'User ID', value: 'userId' },
	{ name: 'Anonymous ID', value: 'anonymousId' },
	{ name: 'Profile ID', value: 'profileId' },
];

/** Every person operation but Create or Update finds its person first. */
const withLookup = ['get', 'merge', 'suppress', 'unsuppress', 'export', 'erase'];

export const lookupProperties: INodeProperties[] = [
	{
		displayName: 'Find By',
		name: 'lookupBy',
		type: 'options',
		options: lookupOptions,
		default: 'email',
		displayOptions: { show: { resource: ['person'], operation: withLookup } },
		description: 'Which ID identifies the person. Anonymous IDs are those of the browser tracker.',
	},
	{
		displayName: 'Value',
		name: 'lookupValue',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'ada@example.com',
		displayOptions: { show: { resource: ['person'], operation: withLookup } },
		description: 'The ID to look for. Emails are compared trimmed and lower-cased.',
	},
];

export function refOf(lookup: Lookup): ProfileRef {
	return { [lookup.by]: lookup.value.trim() };
}

/** What an operation that looks someone up answers when nobody matches. */
export function notFound(lookup: Lookup): Record<string, unknown> {
	return { found: false, lookupBy: lookup.by, lookupValue: lookup.value };
}

/** The person an item's operation acts on, from Find By and Value. */
export function readLookup(ctx: IExecuteFunctions, i: number): Lookup {
	const lookup = { by: ctx.getNodeParameter('lookupBy', i) as LookupKind, value: textParameter(ctx, 'lookupValue', i) };
	if (!lookup.value) {
		throw new NodeOperationError(ctx.getNode(), 'The value to find the person by is empty', {
			itemIndex: i,
			description: `Set "Value" to the person's ${lookup.by}; an expression that resolved to nothing gives this error.`,
		});
	}
	return lookup;
}
