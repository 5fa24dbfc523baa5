import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { DEFAULT_CHANNEL_RULES, parseChannelRules, type ChannelRule } from '../../shared/attribution/channels';
import type { Windows } from '../../shared/attribution/credit';
import { MODEL_LABELS, MODELS, type ModelName } from '../../shared/attribution/models';
import { type PersonKind, personOfItem } from '../../shared/parameters/personParameters';
import { resolveProfileIds } from '../../shared/store/identity';
import type { RetargetingStore } from '../../shared/store/store';

const DAY = 86_400_000;

/** The models to credit with, for Log Conversion and Report. */
export const modelsProperty = (operation: string): INodeProperties => ({
	displayName: 'Models',
	name: 'models',
	type: 'multiOptions',
	options: MODELS.map((value) => ({ name: MODEL_LABELS[value], value })),
	default: [...MODELS],
	displayOptions: { show: { operation: [operation] } },
	description:
		'How credit is split over the touches before a conversion. Markov learns from every journey in the store (converted or not) what each channel adds.',
});

/** Windows, half-life and channel rules, shared by Log Conversion and Report. */
export const attributionOptions: INodeProperties[] = [
	{
		displayName: 'Channel Rules',
		name: 'channelRules',
		type: 'string',
		typeOptions: { rows: 6 },
		default: DEFAULT_CHANNEL_RULES,
		description:
			'One rule a line, field=value[,value…]: Channel. Fields: click (the click ID parameter, such as gclid), source, medium, campaign (utm_*), kind (email_sent, email_clicked, ad_impression…). The first rule that matches wins; a touch with no rule is Other, or Direct without source and medium.',
	},
	{
		displayName: 'Click Window (Days)',
		name: 'clickWindowDays',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 30,
		description: 'How long a click (a visit from a link or an ad, an email click) counts',
	},
	{
		displayName: 'Half-Life (Days, Time Decay)',
		name: 'halfLifeDays',
		type: 'number',
		typeOptions: { minValue: 0.01 },
		default: 7,
		description: 'Time decay: a touch this long before the conversion counts half as much as one just before it',
	},
	{
		displayName: 'Lookback (Days)',
		name: 'lookbackDays',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 30,
		description: 'Touches older than this before a conversion never count; also how long after being drawn a holdout member may convert',
	},
	{
		displayName: 'View Window (Days)',
		name: 'viewWindowDays',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 1,
		description: 'How long a view (an email sent or opened, an ad seen) counts',
	},
];

export interface AttributionSettings {
	models: ModelName[];
	windows: Windows;
	halfLifeMs: number;
	rules: ChannelRule[];
}

/** The settings of an execution, or an error naming the parameter to fix. */
export function attributionSettings(ctx: IExecuteFunctions, options: IDataObject): AttributionSettings {
	const models = ctx.getNodeParameter('models', 0, [...MODELS]) as ModelName[];
	if (models.length === 0) throw new NodeOperationError(ctx.getNode(), 'Models: choose at least one attribution model');
	let rules: ChannelRule[];
	try {
		rules = parseChannelRules(String(options.channelRules ?? DEFAULT_CHANNEL_RULES));
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message, { description: 'Fix the line in Options → Channel Rules.' });
	}
	const days = (name: string, label: string, fallback: number, least = 0) => {
		const value = Number(options[name] ?? fallback);
		if (!Number.isFinite(value) || value < least) throw new NodeOperationError(ctx.getNode(), `Options → ${label}: "${String(options[name])}" is not a number of days of ${least} or more`);
		return value * DAY;
	};
	return {
		models,
		windows: { lookbackMs: days('lookbackDays', 'Lookback', 30), clickWindowMs: days('clickWindowDays', 'Click Window', 30), viewWindowMs: days('viewWindowDays', 'View Window', 1) },
		halfLifeMs: days('halfLifeDays', 'Half-Life', 7, 0.01),
		rules,
	};
}

/** A date parameter as a time: empty is now; anything else must parse. */
export function timeOf(ctx: IExecuteFunctions, value: unknown, field: string, itemIndex: number): Date {
	if (value === undefined || value === null || value === '') return new Date();
	const date = value instanceof Date ? value : new Date(typeof value === 'number' ? value : String(value));
	if (Number.isNaN(date.getTime())) {
		throw new NodeOperationError(ctx.getNode(), `${field}: "${String(value)}" is not a date`, { itemIndex, description: 'Use an ISO 8601 time such as 2026-11-23T10:00:00Z, or leave it empty for now.' });
	}
	return date;
}

/**
 * The store's profile of each item's person (the node's "Find Person By" and "Person Field"), and
 * for an item whose person the store does not know, the error that names what to check.
 */
export async function peopleOf(ctx: IExecuteFunctions, items: INodeExecutionData[], store: RetargetingStore): Promise<(i: number) => string> {
	const kind = ctx.getNodeParameter('personIdKind', 0, 'profileId') as PersonKind;
	const field = String(ctx.getNodeParameter('personField', 0, 'profileId')).trim() || 'profileId';
	const persons = items.map((item) => personOfItem(item.json, kind, field));
	const ids = await resolveProfileIds(store.driver, persons);
	return (i) => {
		const id = ids[i];
		if (id) return id;
		throw new NodeOperationError(ctx.getNode(), persons[i] ? 'This person is not in the retargeting store' : `The item has no "${field}" to find the person by`, {
			itemIndex: i,
			description: 'Touchpoints and conversions belong to people the store knows: check "Find Person By" and "Person Field".',
		});
	};
}
