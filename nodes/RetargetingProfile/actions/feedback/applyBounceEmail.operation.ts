/**
 * Email Feedback → Apply Bounce Email: plain SMTP has no event webhook, so bounces and complaints
 * come back as emails (DSN and ARF reports); n8n's IMAP trigger reads the mailbox, and each email
 * is applied to the store as the providers' events are.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { readBounceEmail } from '../../../shared/feedback/bounce-email';
import { pathValue } from '../../../shared/segments/evaluate';
import type { FeedbackOutcome } from '../../../shared/store/feedback';
import type { RetargetingStore } from '../../../shared/store/store';

const show = { show: { operation: ['applyBounceEmail'] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Email Source Field',
		name: 'rawField',
		type: 'string',
		default: 'raw',
		displayOptions: show,
		description: 'The item field holding the email, as the Email Trigger (IMAP) gives it with Format: RAW',
	},
	{
		displayName: 'Soft Bounces Before Suppression',
		name: 'softBounceLimit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 3,
		displayOptions: show,
		description: 'An address that soft-bounces this many times in a row (no delivery between) is suppressed',
	},
];

export interface BounceEmailResult {
	/** `applied`: read and applied; `ignored`: not a bounce or complaint report; `unreadable`: not an email. */
	status: 'applied' | 'ignored' | 'unreadable';
	reason?: string;
	events: Array<FeedbackOutcome & { email: string; reason?: string }>;
}

export async function applyBounceEmail(store: RetargetingStore, source: unknown, softBounceLimit: number, receivedAt = new Date()): Promise<BounceEmailResult> {
	if (typeof source !== 'string' || source.length === 0) return { status: 'unreadable', reason: 'the item has no email source in the field (set the IMAP trigger to Format: RAW)', events: [] };
	const reading = readBounceEmail(source, receivedAt);
	if (!reading.ok) return { status: 'unreadable', reason: reading.error, events: [] };
	if (reading.events.length === 0) return { status: 'ignored', reason: reading.ignored.map((i) => i.reason).join('; ') || 'not a bounce or complaint report', events: [] };
	const outcomes = await store.applyFeedback(reading.events, { softBounceLimit });
	return { status: 'applied', events: outcomes.map((o, i) => ({ ...o, email: reading.events[i].email, reason: reading.events[i].reason })) };
}

/** The item, its email source dropped, with what applying the email did. */
export async function execute(this: IExecuteFunctions, store: RetargetingStore, i: number, item: INodeExecutionData): Promise<INodeExecutionData[]> {
	const field = String(this.getNodeParameter('rawField', i, 'raw')).trim() || 'raw';
	const bounce = await applyBounceEmail(store, pathValue(item.json, field), Number(this.getNodeParameter('softBounceLimit', i, 3)));
	return [{ json: { ...item.json, [field]: undefined, bounce: bounce as unknown as IDataObject }, pairedItem: { item: i } }];
}
