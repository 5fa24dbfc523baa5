import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import type { Consent } from '../shared/events/model';
import { conditionProperties } from '../shared/segmentConditionProperties';
import { conditionGroupsFromParameter, type ConditionsParameter } from '../shared/segmentParameters';
import { pathValue } from '../shared/segments/evaluate';
import { offThread } from '../shared/offthread/run';
import type { RetargetingStore } from '../shared/store/store';
import { checkPostgresStore, storeFor, storeProperties } from '../shared/storeParameters';
import { applyBounceEmail } from './applyBounceEmail';
import {
	DEFAULT_KEEP_DAYS,
	keepDaysProblem,
	purgeOldData,
	runProfileOperation,
	type LookupKind,
	type ProfileOperation,
	type ProfileRequest,
} from './operations';

const lookupOptions = [
	{ name: 'Email', value: 'email' },
	{ name: 'User ID', value: 'userId' },
	{ name: 'Anonymous ID', value: 'anonymousId' },
	{ name: 'Profile ID', value: 'profileId' },
];

const withLookup: ProfileOperation[] = ['get', 'merge', 'suppress', 'unsuppress', 'export', 'erase'];

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
	displayOptions: { show: { operation: ['upsert'] } },
	description: `Whether the person agreed to ${label.toLowerCase()} retargeting. Withdrawn consent stops every send or push on that channel.`,
});

export class RetargetingProfile implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Retargeting Profile',
		name: 'retargetingProfile',
		icon: { light: 'file:../../icons/retargeting-profile.svg', dark: 'file:../../icons/retargeting-profile.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"]}}',
		description: 'Get, update, merge, suppress, export or erase a person in the retargeting store, or purge its old data',
		defaults: { name: 'Retargeting Profile' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'retargetingPostgresApi',
				required: true,
				testedBy: 'checkPostgresStore',
				displayOptions: { show: { store: ['postgres'] } },
			},
		],
		properties: [
			...storeProperties,
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Email Feedback', value: 'feedback', description: 'Bounce and complaint reports that come back by email, for plain SMTP' },
					{ name: 'Person', value: 'person', description: 'A profile: IDs, traits, consent, counters and history' },
					{ name: 'Segment', value: 'segment', description: 'The people of the store who meet conditions' },
					{ name: 'Store', value: 'store', description: 'The store itself: retention of old data' },
				],
				default: 'person',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['person'] } },
				options: [
					{ name: 'Create or Update', value: 'upsert', action: 'Create or update a person', description: 'Create a new record, or update the current one if it already exists (upsert)' },
					{ name: 'Erase', value: 'erase', action: 'Erase a person', description: 'Right to erasure: delete every row about the person in the store' },
					{ name: 'Export', value: 'export', action: 'Export a person', description: 'Everything held about the person, for an access request' },
					{ name: 'Get', value: 'get', action: 'Get a person', description: 'The profile, its identities, consent and counters' },
					{ name: 'Merge', value: 'merge', action: 'Merge two people', description: 'Merge a second profile into the first, known to be the same person' },
					{ name: 'Suppress', value: 'suppress', action: 'Suppress a person', description: 'Never email or target the person again, whatever their consent' },
					{ name: 'Unsuppress', value: 'unsuppress', action: 'Unsuppress a person', description: 'Lift a suppression' },
				],
				default: 'get',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['segment'] } },
				options: [
					{
						name: 'Get Members',
						value: 'getMembers',
						action: 'Get the members of a segment',
						description: 'Every person in the store who meets the conditions, with what the match read',
					},
				],
				default: 'getMembers',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['store'] } },
				options: [
					{
						name: 'Purge Old Data',
						value: 'purge',
						action: 'Purge old data',
						description: 'Delete the events older than a given age, once per run whatever the number of input items',
					},
				],
				default: 'purge',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['feedback'] } },
				options: [
					{
						name: 'Apply Bounce Email',
						value: 'applyBounceEmail',
						action: 'Apply a bounce or complaint email',
						description: 'Read a delivery status (DSN) or complaint (ARF) report from the IMAP trigger: hard bounces and complaints suppress the address, soft bounces are counted',
					},
				],
				default: 'applyBounceEmail',
			},
			{
				displayName: 'Email Source Field',
				name: 'rawField',
				type: 'string',
				default: 'raw',
				displayOptions: { show: { operation: ['applyBounceEmail'] } },
				description: 'The item field holding the email, as the Email Trigger (IMAP) gives it with Format: RAW',
			},
			{
				displayName: 'Soft Bounces Before Suppression',
				name: 'softBounceLimit',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 3,
				displayOptions: { show: { operation: ['applyBounceEmail'] } },
				description: 'An address that soft-bounces this many times in a row (no delivery between) is suppressed',
			},
			{
				displayName: 'Keep Events For (Days)',
				name: 'keepDays',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: DEFAULT_KEEP_DAYS,
				displayOptions: { show: { resource: ['store'], operation: ['purge'] } },
				description:
					"Tracked events (page views, product views, carts, identify calls…) received longer ago than this are deleted. Orders and conversions, profiles with their consent and counters, the consent log and the record of sends are kept. 395 days (13 months) is the CNIL's guidance for audience-measurement trackers.",
			},
			{
				displayName: 'Options',
				name: 'purgeOptions',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				displayOptions: { show: { resource: ['store'], operation: ['purge'] } },
				options: [
					{
						displayName: 'Also Purge Email Provider Events',
						name: 'emailEvents',
						type: 'boolean',
						default: true,
						description:
							'Whether to also delete what the email providers reported (deliveries, opens, clicks, bounces) when it was received longer ago than the same number of days. Unsubscribes and suppressions they caused stay on the profile.',
					},
				],
			},
			{
				displayName: 'Conditions',
				name: 'segmentConditions',
				placeholder: 'Add Condition',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true },
				default: {},
				displayOptions: { show: { resource: ['segment'] } },
				description: 'The same conditions as the Segment Filter node. No condition: everyone.',
				options: [{ displayName: 'Condition', name: 'condition', values: conditionProperties }],
			},
			{
				displayName: 'Return All',
				name: 'returnAll',
				type: 'boolean',
				default: false,
				displayOptions: { show: { resource: ['segment'] } },
				description: 'Whether to return all results or only up to a given limit',
			},
			{
				displayName: 'Limit',
				name: 'limit',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 50,
				displayOptions: { show: { resource: ['segment'], returnAll: [false] } },
				description: 'Max number of results to return',
			},
			{
				displayName: 'Find By',
				name: 'lookupBy',
				type: 'options',
				options: lookupOptions,
				default: 'email',
				displayOptions: { show: { operation: withLookup } },
				description: 'Which ID identifies the person. Anonymous IDs are those of the browser tracker.',
			},
			{
				displayName: 'Value',
				name: 'lookupValue',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'ada@example.com',
				displayOptions: { show: { operation: withLookup } },
				description: 'The ID to look for. Emails are compared trimmed and lower-cased.',
			},
			{
				displayName: 'Merge From: Find By',
				name: 'mergeLookupBy',
				type: 'options',
				options: lookupOptions,
				default: 'anonymousId',
				displayOptions: { show: { operation: ['merge'] } },
				description: 'The profile to merge into the first one; it is deleted after the merge',
			},
			{
				displayName: 'Merge From: Value',
				name: 'mergeLookupValue',
				type: 'string',
				default: '',
				required: true,
				displayOptions: { show: { operation: ['merge'] } },
			},
			{
				displayName: 'Include History',
				name: 'includeHistory',
				type: 'boolean',
				default: false,
				displayOptions: { show: { operation: ['get'] } },
				description: 'Whether to add the events of the person, oldest first, including those from before they identified',
			},
			{
				displayName: 'History Limit',
				name: 'historyLimit',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 50,
				displayOptions: { show: { operation: ['get'], includeHistory: [true] } },
				description: 'Max number of events to return',
			},
			{
				displayName: 'Reason',
				name: 'reason',
				type: 'string',
				default: '',
				placeholder: 'Hard bounce',
				displayOptions: { show: { operation: ['suppress'] } },
				description: 'Why the person is suppressed, kept with the profile',
			},
			{
				displayName: 'User ID',
				name: 'userId',
				type: 'string',
				default: '',
				displayOptions: { show: { operation: ['upsert'] } },
				description: 'Your own ID of the person. Give at least one of User ID, Email and Anonymous ID.',
			},
			{
				displayName: 'Email',
				name: 'email',
				type: 'string',
				placeholder: 'name@email.com',
				default: '',
				displayOptions: { show: { operation: ['upsert'] } },
			},
			{
				displayName: 'Anonymous ID',
				name: 'anonymousId',
				type: 'string',
				default: '',
				displayOptions: { show: { operation: ['upsert'] } },
				description: "The browser tracker's ID, to join what the person did before they identified",
			},
			{
				displayName: 'Traits (JSON)',
				name: 'traits',
				type: 'json',
				default: '{}',
				displayOptions: { show: { operation: ['upsert'] } },
				description: 'Attributes to set, for example {"first_name": "Ada", "country": "FR"}. Existing traits not named here are kept.',
			},
			consentField('email', 'Email'),
			consentField('ads', 'Ads'),
			consentField('analytics', 'Analytics'),
		],
	};

	methods = {
		credentialTest: {
			checkPostgresStore,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const store = await storeFor(this);
		if (this.getNodeParameter('resource', 0, 'person') === 'store') return [[await purgeOnce(this, store)]];
		const out: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			try {
				if (this.getNodeParameter('resource', i, 'person') === 'feedback') {
					const field = String(this.getNodeParameter('rawField', i, 'raw')).trim() || 'raw';
					const bounce = await applyBounceEmail(store, pathValue(items[i].json, field), Number(this.getNodeParameter('softBounceLimit', i, 3)));
					out.push({ json: { ...items[i].json, [field]: undefined, bounce: bounce as unknown as IDataObject }, pairedItem: { item: i } });
					continue;
				}
				if (this.getNodeParameter('resource', i, 'person') === 'segment') {
					for (const member of await segmentMembersOf(this, store, i)) out.push(member);
					continue;
				}
				const operation = this.getNodeParameter('operation', i) as ProfileOperation;
				const request = readRequest(this, operation, i);
				out.push({ json: (await runProfileOperation(store, operation, request)) as IDataObject, pairedItem: { item: i } });
			} catch (error) {
				if (!this.continueOnFail()) {
					throw error instanceof NodeOperationError ? error : new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
				}
				out.push({ json: { error: (error as Error).message }, pairedItem: { item: i } });
			}
		}
		return [out];
	}
}

/** Store → Purge Old Data: once per execution, whatever the number of items; one item out, paired to the first. */
async function purgeOnce(ctx: IExecuteFunctions, store: RetargetingStore): Promise<INodeExecutionData> {
	try {
		const keepDays = ctx.getNodeParameter('keepDays', 0, DEFAULT_KEEP_DAYS) as number;
		const problem = keepDaysProblem(keepDays);
		if (problem) {
			throw new NodeOperationError(ctx.getNode(), problem, {
				itemIndex: 0,
				description: 'Give the number of days events are kept, for example 395 (13 months).',
			});
		}
		const emailEvents = ctx.getNodeParameter('purgeOptions.emailEvents', 0, true) as boolean;
		return { json: (await purgeOldData(store, { keepDays, emailEvents })) as unknown as IDataObject, pairedItem: { item: 0 } };
	} catch (error) {
		if (!ctx.continueOnFail()) {
			throw error instanceof NodeOperationError ? error : new NodeOperationError(ctx.getNode(), error as Error, { itemIndex: 0 });
		}
		return { json: { error: (error as Error).message }, pairedItem: { item: 0 } };
	}
}

/** The members as the node's items, each built as its page arrives: a million of them never at once. */
async function segmentMembersOf(ctx: IExecuteFunctions, store: RetargetingStore, i: number): Promise<INodeExecutionData[]> {
	const conditions = ctx.getNodeParameter('segmentConditions', i, {}) as ConditionsParameter;
	const parsed = conditionGroupsFromParameter(conditions, ctx.getTimezone());
	if (!parsed.ok) {
		throw new NodeOperationError(ctx.getNode(), `The conditions cannot be used: ${parsed.problems[0]}`, {
			itemIndex: i,
			description: parsed.problems.join('\n'),
		});
	}
	const max = ctx.getNodeParameter('returnAll', i, false) ? undefined : Number(ctx.getNodeParameter('limit', i, 50));
	// Every profile of the store may be read: done in a worker thread, which sends the members a page at a time.
	const members: INodeExecutionData[] = [];
	for await (const page of offThread(store.driver, 'segmentMembers', { segment: { name: 'Members', groups: parsed.groups }, max })) {
		for (const { profile, facts } of page) members.push({ json: { ...profile, segment: { facts } } as unknown as IDataObject, pairedItem: { item: i } });
	}
	return members;
}

function readRequest(ctx: IExecuteFunctions, operation: ProfileOperation, i: number): ProfileRequest {
	// An expression that resolves to nothing (a missing field) counts as empty, not as "undefined".
	const text = (name: string) => {
		const value = ctx.getNodeParameter(name, i, '') as unknown;
		return value === undefined || value === null ? '' : String(value).trim();
	};
	if (operation === 'upsert') {
		const identifiers = { userId: text('userId'), email: text('email'), anonymousId: text('anonymousId') };
		if (!identifiers.userId && !identifiers.email && !identifiers.anonymousId) {
			throw new NodeOperationError(ctx.getNode(), 'Give at least one of User ID, Email and Anonymous ID', {
				itemIndex: i,
				description: 'A person is found again by one of these IDs.',
			});
		}
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
		const consent: Consent = {};
		for (const purpose of ['email', 'ads', 'analytics'] as const) {
			const choice = ctx.getNodeParameter(`consent_${purpose}`, i, 'unchanged');
			if (choice !== 'unchanged') consent[purpose] = choice === 'granted';
		}
		return { identifiers, traits: traits as Record<string, unknown>, consent: Object.keys(consent).length ? consent : undefined };
	}
	const lookup = { by: ctx.getNodeParameter('lookupBy', i) as LookupKind, value: text('lookupValue') };
	if (!lookup.value) {
		throw new NodeOperationError(ctx.getNode(), 'The value to find the person by is empty', {
			itemIndex: i,
			description: `Set "Value" to the person's ${lookup.by}; an expression that resolved to nothing gives this error.`,
		});
	}
	const request: ProfileRequest = { lookup };
	if (operation === 'merge') {
		request.mergeFrom = { by: ctx.getNodeParameter('mergeLookupBy', i) as LookupKind, value: text('mergeLookupValue') };
		if (!request.mergeFrom.value) {
			throw new NodeOperationError(ctx.getNode(), 'The value of the profile to merge from is empty', { itemIndex: i });
		}
	}
	if (operation === 'get') {
		request.includeHistory = ctx.getNodeParameter('includeHistory', i, false) as boolean;
		request.historyLimit = ctx.getNodeParameter('historyLimit', i, 50) as number;
	}
	if (operation === 'suppress') request.reason = text('reason');
	return request;
}
