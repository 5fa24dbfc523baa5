import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, NodeOperationError } from 'n8n-workflow';

import type { RetargetingStore } from '../../../shared/store/store';

/** 13 months, the CNIL's guidance for audience-measurement trackers. */
export const DEFAULT_KEEP_DAYS = 395;

const DAY_MS = 24 * 60 * 60 * 1000;
const show = { show: { resource: ['store'], operation: ['purge'] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Keep Events For (Days)',
		name: 'keepDays',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: DEFAULT_KEEP_DAYS,
		displayOptions: show,
		description:
			"Tracked events (page views, product views, carts, identify calls…) received longer ago than this are deleted. Orders and conversions, profiles with their consent and counters, the consent log and the record of sends are kept. 395 days (13 months) is the CNIL's guidance for audience-measurement trackers.",
	},
	{
		displayName: 'Options',
		name: 'purgeOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show,
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
];

export interface PurgeRequest {
	/** Events received longer ago than this many days are deleted. */
	keepDays: number;
	/** Whether the email providers' events (deliveries, opens, clicks, bounces) older than that go too. */
	emailEvents: boolean;
}

export interface PurgeResult {
	purged: { events: number; emailEvents: number };
	/** The cutoff: what was received before it is gone. */
	before: string;
	keptDays: number;
}

/** The problem with a retention age, or undefined when it can be used. */
export function keepDaysProblem(keepDays: unknown): string | undefined {
	if (typeof keepDays !== 'number' || !Number.isFinite(keepDays)) return `Keep Events For (Days) must be a number, not ${JSON.stringify(keepDays)}`;
	if (keepDays < 1) return `Keep Events For (Days) must be at least 1, not ${keepDays}`;
	return undefined;
}

/**
 * Retention, run once per execution: deletes the events (and, when asked, the email providers'
 * events) received more than `keepDays` days before `now`. Orders and conversions, profiles, the
 * consent log and sends are kept.
 */
export async function purgeOldData(store: RetargetingStore, request: PurgeRequest, now = new Date()): Promise<PurgeResult> {
	const problem = keepDaysProblem(request.keepDays);
	if (problem) throw new Error(problem);
	const before = new Date(now.getTime() - request.keepDays * DAY_MS);
	const purged = await store.purgeBefore(before, { emailEvents: request.emailEvents });
	return { purged, before: before.toISOString(), keptDays: request.keepDays };
}

/** Run by the router once per execution, for item 0, whatever the number of input items. */
export async function execute(this: IExecuteFunctions, store: RetargetingStore, i: number): Promise<INodeExecutionData[]> {
	const keepDays = this.getNodeParameter('keepDays', i, DEFAULT_KEEP_DAYS) as number;
	const problem = keepDaysProblem(keepDays);
	if (problem) {
		throw new NodeOperationError(this.getNode(), problem, {
			itemIndex: i,
			description: 'Give the number of days events are kept, for example 395 (13 months).',
		});
	}
	const emailEvents = this.getNodeParameter('purgeOptions.emailEvents', i, true) as boolean;
	return [{ json: (await purgeOldData(store, { keepDays, emailEvents })) as unknown as IDataObject, pairedItem: { item: i } }];
}
