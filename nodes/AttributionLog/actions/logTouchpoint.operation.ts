import { createHash } from 'node:crypto';

import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, NodeOperationError } from 'n8n-workflow';

import { CLICK_ID_PARAMS } from '../../shared/events/model';
import { logTouchpoints, type NewTouchpoint } from '../../shared/store/attribution';
import type { RetargetingStore } from '../../shared/store/store';
import { peopleOf, timeOf } from './settings';

const show = { show: { operation: ['logTouchpoint'] } };
const KINDS = ['ad_click', 'ad_impression', 'email_clicked', 'email_opened', 'email_sent', 'visit'];

export const description: INodeProperties[] = [
	{
		displayName: 'Kind',
		name: 'kind',
		type: 'options',
		options: [
			{ name: 'Ad Click', value: 'ad_click' },
			{ name: 'Ad Impression', value: 'ad_impression', description: 'A view: counts within the view window' },
			{ name: 'Email Clicked', value: 'email_clicked' },
			{ name: 'Email Opened', value: 'email_opened', description: 'A view: counts within the view window' },
			{ name: 'Email Sent', value: 'email_sent', description: 'ESP Send records its own sends; log only emails sent elsewhere' },
			{ name: 'Visit', value: 'visit', description: 'A visit from a campaign link or an ad (the Tracking Trigger records these itself)' },
		],
		default: 'email_clicked',
		displayOptions: show,
		description: 'What happened. Clicks count within the click window, views within the view window.',
	},
	{
		displayName: 'Channel',
		name: 'channel',
		type: 'string',
		default: '',
		placeholder: 'Paid Social',
		displayOptions: show,
		description: 'Empty: found by the channel rules from the kind, click ID and UTM fields',
	},
	{ displayName: 'Campaign', name: 'campaign', type: 'string', default: '', placeholder: 'cart-recovery', displayOptions: show },
	{ displayName: 'Source', name: 'source', type: 'string', default: '', placeholder: 'google', displayOptions: show, description: 'As utm_source' },
	{ displayName: 'Medium', name: 'medium', type: 'string', default: '', placeholder: 'cpc', displayOptions: show, description: 'As utm_medium' },
	{
		displayName: 'Click ID',
		name: 'clickId',
		type: 'string',
		default: '',
		placeholder: 'gclid:Cj0KCQiA…',
		displayOptions: show,
		description: `The ad click ID as parameter:value; parameters: ${CLICK_ID_PARAMS.join(', ')}`,
	},
	{
		displayName: 'Occurred At',
		name: 'occurredAt',
		type: 'string',
		default: '',
		placeholder: '2026-11-23T10:00:00Z',
		displayOptions: show,
		description: 'When it happened. Empty: now.',
	},
	{
		displayName: 'Touchpoint ID',
		name: 'touchpointId',
		type: 'string',
		default: '',
		placeholder: 'e.g. {{ $json.event_id }}',
		displayOptions: show,
		description:
			"The touchpoint's own ID at its source, such as the email provider's event ID. An ID logged before (a retried execution) records nothing and the item says duplicate. Empty: the touchpoint is known by its person, kind, fields and Occurred At, so a retry is caught only when Occurred At comes from the item (empty means now, which differs on each run).",
	},
];

/** The ID a touchpoint is stored under: the one given, else one made from all it says. */
function touchpointKey(given: string | null, t: Omit<NewTouchpoint, 'id'>): string {
	if (given) return `log:${given}`;
	const fields = [t.profileId, t.kind, t.channel, t.source, t.medium, t.campaign, t.clickId, t.at.toISOString()];
	return `log:auto:${createHash('sha256').update(JSON.stringify(fields)).digest('hex')}`;
}

/**
 * Records one touchpoint an item, once per touchpoint ID; an unknown person fails that item (or
 * skips it with continue on fail).
 */
export async function execute(this: IExecuteFunctions, items: INodeExecutionData[], store: RetargetingStore): Promise<INodeExecutionData[]> {
	const personOf = await peopleOf(this, items, store);
	const touchpoints: Array<NewTouchpoint & { id: string }> = [];
	const logged: IDataObject[] = [];
	const out: INodeExecutionData[] = [];
	items.forEach((item, i) => {
		const text = (name: string) => String(this.getNodeParameter(name, i, '') ?? '').trim() || null;
		try {
			const profileId = personOf(i);
			const clickId = text('clickId');
			if (clickId && !/^[a-z_]+:.+$/i.test(clickId)) {
				throw new NodeOperationError(this.getNode(), `Click ID: "${clickId}" is not parameter:value, such as gclid:Cj0KCQiA`, { itemIndex: i });
			}
			const kind = String(this.getNodeParameter('kind', i, 'email_clicked'));
			if (!KINDS.includes(kind)) throw new NodeOperationError(this.getNode(), `Kind: "${kind}" is not one of ${KINDS.join(', ')}`, { itemIndex: i });
			const fields: Omit<NewTouchpoint, 'id'> = {
				profileId,
				kind,
				channel: text('channel'),
				source: text('source'),
				medium: text('medium'),
				campaign: text('campaign'),
				clickId,
				at: timeOf(this, this.getNodeParameter('occurredAt', i, ''), 'Occurred At', i),
			};
			const touchpoint = { ...fields, id: touchpointKey(text('touchpointId'), fields) };
			const json: IDataObject = { ...touchpoint, at: touchpoint.at.toISOString() };
			touchpoints.push(touchpoint);
			logged.push(json);
			out.push({ json: { ...item.json, touchpoint: json }, pairedItem: { item: i } });
		} catch (error) {
			if (!this.continueOnFail()) throw error instanceof NodeOperationError ? error : new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
			out.push({ json: { ...item.json, error: (error as Error).message }, pairedItem: { item: i } });
		}
	});
	const results = await logTouchpoints(store.driver, touchpoints);
	logged.forEach((json, k) => {
		json.duplicate = results[k] === 'duplicate';
		if (results[k] === 'gone') json.notLogged = 'the person was erased from the store meanwhile';
	});
	return out;
}
