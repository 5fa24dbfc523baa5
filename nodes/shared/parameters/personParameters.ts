import type { INodeProperties } from 'n8n-workflow';

import { pathValue } from '../segments/evaluate';
import type { PersonInput } from '../segments/filter';
import type { IdentityKind } from '../store/identity';

/** How the nodes that act on people find each item's person: which ID, in which field. */
export const personProperties: INodeProperties[] = [
	{
		displayName: 'Find Person By',
		name: 'personIdKind',
		type: 'options',
		options: [
			{ name: 'Profile ID', value: 'profileId', description: 'The store ID the retargeting triggers put on their items' },
			{ name: 'User ID', value: 'userId' },
			{ name: 'Email', value: 'email' },
			{ name: 'Anonymous ID', value: 'anonymousId' },
		],
		default: 'profileId',
		description: 'Which ID the items carry for their person',
	},
	{
		displayName: 'Person Field',
		name: 'personField',
		type: 'string',
		default: 'profileId',
		required: true,
		description:
			'The item field holding that ID; a dot reaches inside an object, such as customer.email. Items of the Tracking and Abandoned Cart triggers carry profileId.',
	},
];

export type PersonKind = IdentityKind | 'profileId';

/** The person an item names, or undefined when the field is empty or missing. */
export function personOfItem(json: unknown, kind: PersonKind, field: string): PersonInput['person'] {
	const id = pathValue(json, field);
	return id === undefined || id === null || id === '' ? undefined : { kind, value: String(id) };
}

/** A cart ID from an item field, when it holds one. */
export function cartOfItem(json: unknown, field: string): string | undefined {
	const id = field ? pathValue(json, field) : undefined;
	return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}
