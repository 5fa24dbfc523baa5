import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, NodeOperationError } from 'n8n-workflow';

import type { Consent } from '../../../shared/events/model';
import { textParameter } from '../../../shared/parameters/textParameter';
import type { RetargetingStore } from '../../../shared/store/store';

const show = { show: { operation: ['upsert'] } };
const PURPOSES = ['email', 'ads', 'analytics'] as const;

const consentField = (purpose: string, label: string): INodeProperties => ({
	displayName: `${label} Consent`,
	name: `consent_${purpose}`,
	type: 'options',
	options: [
		{ name: 'Leave Unchanged', value: 'unchanged' },
		{ name: 'Granted', value: 'granted' },
		{ name: 'Withdrawn', value: 'withdrawn' },
	],
	default: 'unchanged',
	displayOptions: show,
	description: `Whether the person agreed to ${label.toLowerCase()} retargeting. Withdrawn consent stops every send or push on that channel.`,
});

export const description: INodeProperties[] = [
	{
		displayName: 'User ID',
		name: 'userId',
		type: 'string',
		default: '',
		displayOptions: show,
		description: 'Your own ID of the person. Give at least one of User ID, Email and Anonymous ID.',
	},
	{
		displayName: 'Email',
		name: 'email',
		type: 'string',
		placeholder: 'name@email.com',
		default: '',
		displayOptions: show,
	},
	{
		displayName: 'Anonymous ID',
		name: 'anonymousId',
		type: 'string',
		default: '',
		displayOptions: show,
		description: "The browser tracker's ID, to join what the person did before they identified",
	},
	{
		displayName: 'Traits (JSON)',
		name: 'traits',
		type: 'json',
		default: '{}',
		displayOptions: show,
		description: 'Attributes to set, for example {"first_name": "Ada", "country": "FR"}. Existing traits not named here are kept.',
	},
	consentField('email', 'Email'),
	consentField('ads', 'Ads'),
	consentField('analytics', 'Analytics'),
];

export interface UpsertRequest {
	identifiers: { userId?: string; email?: string; anonymousId?: string };
	traits?: Record<string, unknown>;
	consent?: Consent;
}

/** Creates the person, or updates the one an identifier finds; free of n8n types so it is tested directly. */
export async function upsertPerson(store: RetargetingStore, request: UpsertRequest): Promise<Record<string, unknown>> {
	const { userId, email, anonymousId } = request.identifiers;
	const profile = await store.upsertProfile(
		{ userId: userId || undefined, email: email || undefined, anonymousId: anonymousId || undefined },
		{ traits: request.traits, consent: request.consent },
	);
	return { ...profile };
}

export async function execute(this: IExecuteFunctions, store: RetargetingStore, i: number): Promise<INodeExecutionData[]> {
	const request = { identifiers: identifiersOf(this, i), traits: traitsOf(this, i), consent: consentOf(this, i) };
	return [{ json: (await upsertPerson(store, request)) as IDataObject, pairedItem: { item: i } }];
}

function identifiersOf(ctx: IExecuteFunctions, i: number): UpsertRequest['identifiers'] {
	const identifiers = { userId: textParameter(ctx, 'userId', i), email: textParameter(ctx, 'email', i), anonymousId: textParameter(ctx, 'anonymousId', i) };
	if (!identifiers.userId && !identifiers.email && !identifiers.anonymousId) {
		throw new NodeOperationError(ctx.getNode(), 'Give at least one of User ID, Email and Anonymous ID', {
			itemIndex: i,
			description: 'A person is found again by one of these IDs.',
		});
	}
	return identifiers;
}

/** Traits (JSON) as an object: the editor gives a string, an expression may give the object itself. */
function traitsOf(ctx: IExecuteFunctions, i: number): Record<string, unknown> {
	const rawTraits = ctx.getNodeParameter('traits', i, {}) as unknown;
	let traits: unknown = rawTraits;
	if (typeof rawTraits === 'string') {
		try {
			traits = JSON.parse(rawTraits || '{}');
		} catch {
			traits = undefined;
		}
	}
	if (!traits || typeof traits !== 'object' || Array.isArray(traits)) {
		throw new NodeOperationError(ctx.getNode(), 'Traits must be a JSON object', {
			itemIndex: i,
			description: 'For example {"first_name": "Ada"}.',
		});
	}
	return traits as Record<string, unknown>;
}

/** The consents to change; undefined when every purpose is left unchanged. */
function consentOf(ctx: IExecuteFunctions, i: number): Consent | undefined {
	const consent: Consent = {};
	for (const purpose of PURPOSES) {
		const choice = ctx.getNodeParameter(`consent_${purpose}`, i, 'unchanged');
		if (choice !== 'unchanged') consent[purpose] = choice === 'granted';
	}
	return Object.keys(consent).length ? consent : undefined;
}
