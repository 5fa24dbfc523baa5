import {
	NodeConnectionTypes,
	NodeOperationError,
	type ICredentialsDecrypted,
	type ICredentialTestFunctions,
	type IDataObject,
	type INodeCredentialTestResult,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { type AudiencePartner, bodyTemplateProblem, genericPartner, type GenericPartnerOptions, PARTNERS, type PartnerName } from '../shared/audiences/partners';
import { runConsentCascade } from '../shared/audiences/cascade';
import {
	createLookalike,
	type LookalikePartnerName,
	type LookalikeSpec,
	lookalikeCountry,
	lookalikeProblem,
	SEED_MINIMUM,
	TIKTOK_PLACEMENTS,
	type TikTokLookalikeSpec,
} from '../shared/audiences/lookalike';
import { pushAudience, type PushOperation } from '../shared/audiences/push';
import { authenticatedCall } from '../shared/authenticatedCall';
import type { HttpCall } from '../shared/http';
import { type PersonKind, personOfItem, personProperties } from '../shared/parameters/personParameters';
import { checkPostgresStore, storeFor, storeProperties } from '../shared/parameters/storeParameters';
import { textParameter } from '../shared/parameters/textParameter';

/** Each partner's credential type and the API it calls by default (the HTTP partner's is in its credential). */
const CREDENTIALS: Record<PartnerName | 'http', { type: string; url: string }> = {
	http: { type: 'retargetingHttpPartnerApi', url: '' },
	criteo: { type: 'retargetingCriteoOAuth2Api', url: 'https://api.criteo.com/2025-07' },
	google: { type: 'retargetingGoogleDataManagerOAuth2Api', url: 'https://datamanager.googleapis.com' },
	linkedin: { type: 'retargetingLinkedInAdsOAuth2Api', url: 'https://api.linkedin.com' },
	meta: { type: 'retargetingMetaAdsApi', url: 'https://graph.facebook.com/v21.0' },
	tiktok: { type: 'retargetingTikTokAdsApi', url: 'https://business-api.tiktok.com' },
};

const httpOnly = { show: { partner: ['http'] } };

/** The HTTP partner's own settings: where to send, the body, and how identifiers are made. */
const httpPartnerProperties: INodeProperties[] = [
	{ displayName: 'Add Path', name: 'addPath', type: 'string', default: '/audiences/members', displayOptions: httpOnly, description: 'Under the credential base URL' },
	{ displayName: 'Remove Path', name: 'removePath', type: 'string', default: '/audiences/members', displayOptions: httpOnly, description: 'May be the same as Add Path: {operation} in the body tells them apart' },
	{
		displayName: 'Method',
		name: 'httpMethod',
		type: 'options',
		options: [
			{ name: 'DELETE', value: 'DELETE' },
			{ name: 'PATCH', value: 'PATCH' },
			{ name: 'POST', value: 'POST' },
			{ name: 'PUT', value: 'PUT' },
		],
		default: 'POST',
		displayOptions: httpOnly,
	},
	{
		displayName: 'Body Template',
		name: 'bodyTemplate',
		type: 'string',
		typeOptions: { rows: 4 },
		default: '{"audience": "{audience_id}", "operation": "{operation}", "members": {identifiers}}',
		displayOptions: httpOnly,
		description: 'JSON. {identifiers} becomes the list of identifiers, {audience_id} the audience ID, {operation} add or remove.',
	},
	{ displayName: 'People per Call', name: 'batchSize', type: 'number', typeOptions: { minValue: 1, maxValue: 100000 }, default: 1000, displayOptions: httpOnly },
	{
		displayName: 'Identifier',
		name: 'identifier',
		type: 'options',
		options: [
			{ name: 'Email', value: 'email' },
			{ name: 'Email and Phone', value: 'emailAndPhone', description: 'One {email, phone} object a person' },
			{ name: 'Phone', value: 'phone', description: 'E.164 digits' },
		],
		default: 'email',
		displayOptions: httpOnly,
	},
	{ displayName: 'Hash With SHA-256', name: 'hashIdentifiers', type: 'boolean', default: true, displayOptions: httpOnly, description: 'Whether to send SHA-256 hex of the normalised values rather than the values' },
	{ displayName: 'Remove Gmail Dots', name: 'gmailDots', type: 'boolean', default: false, displayOptions: httpOnly, description: 'Whether to remove every dot before @gmail.com and @googlemail.com, as Google asks' },
	{ displayName: 'Remove Plus-Tags', name: 'plusTags', type: 'boolean', default: false, displayOptions: httpOnly, description: 'Whether to remove a +tag from the email address, where the partner asks' },
];

function httpPartnerOptions(ctx: IExecuteFunctions): GenericPartnerOptions {
	const text = (name: string, fallback: string) => String(ctx.getNodeParameter(name, 0, fallback) ?? fallback).trim();
	return {
		addPath: text('addPath', '/audiences/members'),
		removePath: text('removePath', '/audiences/members'),
		method: text('httpMethod', 'POST') as GenericPartnerOptions['method'],
		bodyTemplate: String(ctx.getNodeParameter('bodyTemplate', 0, '')),
		maxBatch: Math.max(1, Number(ctx.getNodeParameter('batchSize', 0, 1000))),
		identifier: ctx.getNodeParameter('identifier', 0, 'email') as GenericPartnerOptions['identifier'],
		hash: ctx.getNodeParameter('hashIdentifiers', 0, true) !== false,
		email: { gmailDots: ctx.getNodeParameter('gmailDots', 0, false) === true, plusTags: ctx.getNodeParameter('plusTags', 0, false) === true },
	};
}

/** The partner the node is set to; the HTTP partner is made from the node's own settings. */
function partnerOf(ctx: IExecuteFunctions, partnerName: PartnerName | 'http'): AudiencePartner {
	if (partnerName !== 'http') return PARTNERS[partnerName];
	const options = httpPartnerOptions(ctx);
	const problem = bodyTemplateProblem(options.bodyTemplate);
	if (problem) throw new NodeOperationError(ctx.getNode(), problem, { description: 'Put {identifiers} where the list goes; {audience_id} and {operation} are filled in too.' });
	return genericPartner(options);
}

/** Calls to the partner's API with its credential. */
async function partnerCall(ctx: IExecuteFunctions, partnerName: PartnerName | 'http'): Promise<HttpCall> {
	const { type: credential, url } = CREDENTIALS[partnerName];
	const credentials = await ctx.getCredentials(credential);
	const base = String(credentials.apiUrl || credentials.baseUrl || url).replace(/\/+$/, '');
	// LinkedIn retires each API version after about a year: the credential says which one to use.
	const versionHeader: Record<string, string> = partnerName === 'linkedin' && credentials.apiVersion ? { 'LinkedIn-Version': String(credentials.apiVersion) } : {};
	return authenticatedCall(ctx, credential, base, versionHeader);
}

/**
 * The Consent Cascade operation: one item a person taken out of an audience (or who failed to be),
 * none when nobody had to leave. The credential is read only when someone must leave.
 */
async function consentCascade(ctx: IExecuteFunctions, partnerName: PartnerName | 'http', options: IDataObject): Promise<INodeExecutionData[][]> {
	const accountId = partnerName === 'google' || partnerName === 'tiktok' ? String(ctx.getNodeParameter('accountId', 0, '') ?? '').trim() : undefined;
	const store = await storeFor(ctx);
	let outcomes;
	try {
		outcomes = await runConsentCascade(store.driver, async () => await partnerCall(ctx, partnerName), {
			partnerKey: partnerName,
			partner: partnerOf(ctx, partnerName),
			target: { accountId },
			defaultCountryCode: String(options.defaultCountryCode ?? '').trim() || undefined,
			limit: Number(ctx.getNodeParameter('cascadeLimit', 0, 10000)),
		});
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message, { description: 'Who was taken out before the partner refused is recorded; the others are tried again on the next run.' });
	}
	return [outcomes.map((o) => ({ json: { partner: partnerName, ...o } as IDataObject, pairedItem: { item: 0 } }))];
}

/** The operations; Create Lookalike is offered only where the partner has an API for it. */
const operationOptions = [
	{ name: 'Add to Audience', value: 'add', action: 'Add people to an audience', description: 'People with ad consent join the audience' },
	{
		name: 'Consent Cascade',
		value: 'consentCascade',
		action: 'Remove people who withdrew consent from every audience',
		description:
			'Takes no items: removes everyone who withdrew ad consent, was suppressed or erased from every audience of this partner the store saw them added to, and records it in the consent log. Run it on a schedule (the ready-made consent-cascade workflow does).',
	},
	{
		name: 'Create Lookalike',
		value: 'createLookalike',
		action: 'Create a lookalike audience',
		description: 'The partner builds a new audience of people like those this node put in a seed audience, for example your best customers. One lookalike an item.',
	},
	{ name: 'Remove Converters (Burn)', value: 'burn', action: 'Remove buyers from every audience', description: 'Remove each person from every audience of this partner they were added to, for example after Order Completed' },
	{ name: 'Remove From Audience', value: 'remove', action: 'Remove people from an audience' },
	{
		name: 'Sync Audience',
		value: 'sync',
		action: 'Make an audience match the items',
		description: 'The items are the whole audience: add only who is not in yet, remove who is no longer among them or withdrew consent; an unchanged audience makes no call',
	},
];

const operationProperty: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	options: operationOptions,
	default: 'add',
};

const lookalikeOnly = (partner?: LookalikePartnerName) => ({ show: { operation: ['createLookalike'], ...(partner ? { partner: [partner] } : {}) } });

/** Create Lookalike's settings; read for each item, so expressions may give one lookalike an item. */
const lookalikeProperties: INodeProperties[] = [
	{
		displayName: 'Ad Account ID',
		name: 'adAccountId',
		type: 'string',
		default: '',
		required: true,
		placeholder: '1234567890',
		displayOptions: lookalikeOnly('meta'),
		description: 'The Meta ad account that owns the seed audience, as Ads Manager shows it (with or without act_)',
	},
	{
		displayName: 'Seed Audience ID',
		name: 'seedAudienceId',
		type: 'string',
		default: '',
		required: true,
		placeholder: '23851234567890123',
		displayOptions: lookalikeOnly(),
		description: `The audience this node filled with the people to look like, for example your best customers (Meta custom audience ID, TikTok audience ID). It needs at least ${SEED_MINIMUM.meta.people} people this node added.`,
	},
	{
		displayName: 'Lookalike Name',
		name: 'lookalikeName',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'Best customers lookalike FR 1%',
		displayOptions: lookalikeOnly(),
		description: "The new audience's name in the partner's audience manager (TikTok: at most 128 characters)",
	},
	{
		displayName: 'Size (%)',
		name: 'lookalikePercent',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 20, numberPrecision: 0 },
		default: 1,
		displayOptions: lookalikeOnly('meta'),
		description: "The share of the country's Meta users who are most like the seed: 1 is the closest match, 20 the broadest reach",
	},
	{
		displayName: 'Country',
		name: 'lookalikeCountry',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'FR',
		displayOptions: lookalikeOnly('meta'),
		description: "Where the new audience's people live: a two-letter country code, such as FR or US",
	},
	{
		displayName: 'Size',
		name: 'lookalikeSize',
		type: 'options',
		options: [
			{ name: 'Balanced', value: 'BALANCED', description: 'Between the two' },
			{ name: 'Broad', value: 'BROAD', description: 'The most people, less alike' },
			{ name: 'Narrow', value: 'NARROW', description: 'The fewest people, the most alike' },
		],
		default: 'BALANCED',
		displayOptions: lookalikeOnly('tiktok'),
	},
	{
		displayName: 'Location IDs',
		name: 'lookalikeLocationIds',
		type: 'string',
		default: '',
		required: true,
		placeholder: '6252001',
		displayOptions: lookalikeOnly('tiktok'),
		description: "Where the new audience's people live: TikTok location IDs, separated by commas (6252001 is the United States)",
	},
	{
		displayName: 'Lookalike Options',
		name: 'lookalikeOptions',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		displayOptions: lookalikeOnly(),
		options: [
			{
				displayName: 'Include Seed',
				name: 'includeSource',
				type: 'boolean',
				default: false,
				displayOptions: { show: { '/partner': ['tiktok'] } },
				description: "Whether the seed's own people are in the new audience too",
			},
			{
				displayName: 'Mobile OS',
				name: 'mobileOs',
				type: 'options',
				options: [
					{ name: 'All', value: 'ALL' },
					{ name: 'Android', value: 'ANDROID' },
					{ name: 'iOS', value: 'IOS' },
				],
				default: 'ALL',
				displayOptions: { show: { '/partner': ['tiktok'] } },
			},
			{
				displayName: 'Placements',
				name: 'placements',
				type: 'multiOptions',
				options: TIKTOK_PLACEMENTS.map((p) => ({ name: p, value: p })),
				default: ['TikTok'],
				displayOptions: { show: { '/partner': ['tiktok'] } },
				description: 'The apps the new audience is used in',
			},
			{
				displayName: 'Starting Size (%)',
				name: 'startingPercent',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 19, numberPrecision: 0 },
				default: 0,
				displayOptions: { show: { '/partner': ['meta'] } },
				description: 'With Size, a bracket: 1 and 2 give the people from 1% to 2%, next to a 1% lookalike without overlap. 0: from the closest.',
			},
		],
	},
];

/** The item's lookalike settings, as the partner takes them. */
function lookalikeSpecOf(ctx: IExecuteFunctions, partner: LookalikePartnerName, i: number): LookalikeSpec {
	const text = (name: string) => textParameter(ctx, name, i);
	const extra = ctx.getNodeParameter('lookalikeOptions', i, {}) as IDataObject;
	const common = { seedAudienceId: text('seedAudienceId'), name: text('lookalikeName') };
	return partner === 'meta'
		? {
				partner,
				...common,
				accountId: text('adAccountId'),
				percent: Number(ctx.getNodeParameter('lookalikePercent', i, 1)),
				startingPercent: Number(extra.startingPercent ?? 0) || undefined,
				country: lookalikeCountry(text('lookalikeCountry')),
			}
		: {
				partner,
				...common,
				accountId: text('accountId'),
				audienceSize: ctx.getNodeParameter('lookalikeSize', i, 'BALANCED') as TikTokLookalikeSpec['audienceSize'],
				locationIds: text('lookalikeLocationIds').split(',').map((id) => id.trim()).filter(Boolean),
				includeSource: extra.includeSource === true,
				mobileOs: (extra.mobileOs as TikTokLookalikeSpec['mobileOs'] | undefined) ?? 'ALL',
				placements: (extra.placements as TikTokLookalikeSpec['placements'] | undefined) ?? ['TikTok'],
			};
}

/**
 * Create Lookalike: one lookalike an item. A seed too small, or the partner's refusal, fails that
 * item with the reason (or, continuing on fail, leaves it with `error`); a refused token stops the run.
 */
async function createLookalikes(ctx: IExecuteFunctions, partnerName: PartnerName | 'http', items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	if (partnerName !== 'meta' && partnerName !== 'tiktok') {
		throw new NodeOperationError(ctx.getNode(), `Operation: Create Lookalike is offered for Meta and TikTok only, not ${partnerName}`, { description: 'The docs of Banner Partner Push say why the other partners have no lookalike API.' });
	}
	const http = await partnerCall(ctx, partnerName);
	const store = await storeFor(ctx);
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		const spec = lookalikeSpecOf(ctx, partnerName, i);
		const problem = lookalikeProblem(spec);
		if (problem) {
			const message = `${problem.field}: ${problem.reason}`;
			if (!ctx.continueOnFail()) throw new NodeOperationError(ctx.getNode(), message, { itemIndex: i });
			out.push({ json: { partner: partnerName, status: 'notSent', error: message }, pairedItem: { item: i } });
			continue;
		}
		let outcome;
		try {
			outcome = await createLookalike(store.driver, http, spec);
		} catch (error) {
			throw new NodeOperationError(ctx.getNode(), (error as Error).message, { itemIndex: i, description: 'Lookalikes made for earlier items are kept. A refused token: fix the credential, then run again.' });
		}
		if (outcome.status !== 'created' && !ctx.continueOnFail()) {
			const description =
				outcome.status === 'notSent'
					? 'Fill the seed with more people (Add to Audience or Sync Audience) before asking for a lookalike.'
					: "The partner's reason is above. If it did not answer, look in its audience manager before running again: the lookalike may have been made.";
			throw new NodeOperationError(ctx.getNode(), outcome.reason ?? outcome.status, { itemIndex: i, description });
		}
		const json = { ...outcome } as unknown as IDataObject;
		if (outcome.status !== 'created') json.error = outcome.reason;
		out.push({ json, pairedItem: { item: i } });
	}
	return [out];
}

/** Items read and pushed together: a sync must see the whole audience, so it reads every item at once. */
const BATCH = 25_000;

export class BannerPartnerPush implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Banner Partner Push',
		name: 'bannerPartnerPush',
		icon: { light: 'file:../../icons/banner-partner-push.svg', dark: 'file:../../icons/banner-partner-push.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{$parameter["operation"] + " · " + $parameter["partner"]}}',
		description: 'Add people to, or remove them from, ad audiences at Criteo, Meta, Google, LinkedIn, TikTok or any HTTP partner, with hashed identifiers and ad consent checked; create lookalikes at Meta and TikTok',
		defaults: { name: 'Banner Partner Push' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'retargetingCriteoOAuth2Api', required: true, displayOptions: { show: { partner: ['criteo'] } } },
			{ name: 'retargetingHttpPartnerApi', required: true, testedBy: 'checkHttpPartner', displayOptions: { show: { partner: ['http'] } } },
			{ name: 'retargetingGoogleDataManagerOAuth2Api', required: true, displayOptions: { show: { partner: ['google'] } } },
			{ name: 'retargetingLinkedInAdsOAuth2Api', required: true, displayOptions: { show: { partner: ['linkedin'] } } },
			{ name: 'retargetingMetaAdsApi', required: true, displayOptions: { show: { partner: ['meta'] } } },
			{ name: 'retargetingTikTokAdsApi', required: true, displayOptions: { show: { partner: ['tiktok'] } } },
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
				displayName: 'Partner',
				name: 'partner',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Criteo', value: 'criteo', description: 'Contact lists, hashed emails, up to 50,000 a call' },
					{ name: 'Google (Data Manager API)', value: 'google', description: 'Audience members, hashed emails (Gmail dots removed) and phones, 10,000 a call' },
					{ name: 'HTTP Partner', value: 'http', description: 'Any partner with an HTTP API: your paths, JSON body template and hashing' },
					{ name: 'LinkedIn', value: 'linkedin', description: 'Matched Audiences, hashed emails, 5,000 a call' },
					{ name: 'Meta', value: 'meta', description: 'Custom Audiences, multi-key (email, phone, names, city, postal code, country, your ID), 10,000 a call' },
					{ name: 'TikTok', value: 'tiktok', description: 'Custom audiences, hashed emails, 10,000 a call' },
				],
				default: 'meta',
			},
			// Only Meta and TikTok create lookalikes by API: the other partners get the list without it.
			{ ...operationProperty, displayOptions: { show: { partner: ['meta', 'tiktok'] } } },
			{ ...operationProperty, options: operationOptions.filter((o) => o.value !== 'createLookalike'), displayOptions: { hide: { partner: ['meta', 'tiktok'] } } },
			{
				displayName: 'Audience ID',
				name: 'audienceId',
				type: 'string',
				default: '',
				required: true,
				placeholder: '23851234567890123',
				displayOptions: { hide: { operation: ['burn', 'consentCascade', 'createLookalike'] } },
				description: "The partner's audience: Meta custom audience ID, Google user list (product destination) ID, Criteo audience segment ID, LinkedIn DMP segment ID, TikTok audience ID",
			},
			{
				displayName: 'Account ID',
				name: 'accountId',
				type: 'string',
				default: '',
				required: true,
				displayOptions: { show: { partner: ['google', 'tiktok'] } },
				description: 'Google: the Google Ads customer ID that owns the list (digits only). TikTok: the advertiser ID.',
			},
			...lookalikeProperties,
			...httpPartnerProperties,
			...personProperties.map((p) => ({ ...p, displayOptions: { hide: { operation: ['consentCascade', 'createLookalike'] } } })),
			{
				displayName: 'People per Run',
				name: 'cascadeLimit',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 10000,
				displayOptions: { show: { operation: ['consentCascade'] } },
				description: 'The most people taken out of audiences in one run; the rest are taken out by the next runs',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				displayOptions: { hide: { operation: ['createLookalike'] } },
				options: [
					{
						displayName: 'Default Country Calling Code',
						name: 'defaultCountryCode',
						type: 'string',
						default: '',
						placeholder: '33',
						description: 'For phone numbers stored without their country code, such as 06 12 34 56 78. Empty: such numbers are not sent.',
					},
					{
						displayName: 'Require Explicit Consent',
						name: 'requireExplicitConsent',
						type: 'boolean',
						default: true,
						description: 'Whether a person must have granted ad consent to be added. Off: anyone who has not withdrawn it. Removals never need consent.',
					},
				],
			},
		],
	};

	methods = {
		credentialTest: {
			checkPostgresStore,
			/** The base URL answers, and does not refuse the header (401 or 403); any other answer is fine. */
			async checkHttpPartner(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
				const data = credential.data ?? {};
				const name = String(data.headerName ?? '').trim();
				try {
					const response = await fetch(String(data.baseUrl ?? ''), { headers: name ? { [name]: String(data.secret ?? '') } : {}, signal: AbortSignal.timeout(10_000) });
					if (response.status === 401 || response.status === 403) return { status: 'Error', message: `The partner refused the key (${response.status})` };
					return { status: 'OK', message: `The partner answered (${response.status})` };
				} catch (error) {
					return { status: 'Error', message: `Could not reach the partner: ${(error as Error).message}` };
				}
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const partnerName = this.getNodeParameter('partner', 0) as PartnerName | 'http';
		const operation = this.getNodeParameter('operation', 0) as PushOperation | 'consentCascade' | 'createLookalike';
		const options = this.getNodeParameter('options', 0, {}) as IDataObject;
		// An expression may give nothing: that is an empty ID, not the text "undefined".
		const text = (name: string) => String(this.getNodeParameter(name, 0, '') ?? '').trim();
		if (operation === 'consentCascade') return await consentCascade(this, partnerName, options);
		if (operation === 'createLookalike') return await createLookalikes(this, partnerName, items);
		const audienceId = operation === 'burn' ? '' : text('audienceId');
		if (operation !== 'burn' && !audienceId) throw new NodeOperationError(this.getNode(), 'Audience ID: must not be empty', { description: "Set the partner's ID of the audience to change." });
		const accountId = partnerName === 'google' || partnerName === 'tiktok' ? text('accountId') : undefined;
		if (accountId === '') throw new NodeOperationError(this.getNode(), 'Account ID: must not be empty', { description: 'Google needs the Ads customer ID, TikTok the advertiser ID.' });
		if (operation === 'sync' && items.length > BATCH) {
			throw new NodeOperationError(this.getNode(), `Sync takes at most ${BATCH.toLocaleString('en')} items in one execution`, {
				description: 'A sync must see the whole audience at once: each part would remove the others. Use several audiences, or Add and Remove.',
			});
		}
		const kind = this.getNodeParameter('personIdKind', 0, 'profileId') as PersonKind;
		const field = String(this.getNodeParameter('personField', 0, 'profileId')).trim() || 'profileId';
		const partner = partnerOf(this, partnerName);
		const http = await partnerCall(this, partnerName);
		const store = await storeFor(this);
		const out: INodeExecutionData[] = [];
		for (let start = 0; start < items.length; start += BATCH) {
			const batch = items.slice(start, start + BATCH);
			let report;
			try {
				report = await pushAudience(
					store.driver,
					http,
					batch.map((item) => ({ person: personOfItem(item.json, kind, field) })),
					{
						partnerKey: partnerName,
						partner,
						operation,
						target: { audienceId, accountId },
						requireExplicitConsent: options.requireExplicitConsent !== false,
						defaultCountryCode: String(options.defaultCountryCode ?? '').trim() || undefined,
					},
				);
			} catch (error) {
				throw new NodeOperationError(this.getNode(), (error as Error).message, { description: 'What was sent before the partner refused is recorded; run again once the credential is fixed.' });
			}
			const failed = report.outcomes.filter((o) => o.status === 'failed');
			if (failed.length && failed.length === report.outcomes.filter((o) => o.status !== 'skipped' && o.status !== 'unchanged').length && !this.continueOnFail()) {
				throw new NodeOperationError(this.getNode(), `Every person sent was refused: ${failed[0].reason}`, { description: 'Check the audience ID (and account ID) and that the credential may change that audience.' });
			}
			batch.forEach((item, offset) => {
				const push = { partner: partnerName, audienceId: audienceId || undefined, ...report.outcomes[offset] };
				const json: IDataObject = { ...item.json, push: push as unknown as IDataObject };
				if (push.status === 'failed' && this.continueOnFail()) json.error = push.reason;
				out.push({ json, pairedItem: { item: start + offset } });
			});
			// A sync's removals of members who are not among the items, reported beside them.
			for (const profileId of report.removedBySync) {
				out.push({ json: { profileId, push: { partner: partnerName, audienceId, status: 'removed', reason: 'no longer among the items (sync)' } }, pairedItem: { item: start } });
			}
		}
		return [out];
	}
}
