import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, NodeOperationError } from 'n8n-workflow';

import { reportHtml, reportRows } from '../../shared/attribution/summary';
import { offThreadResult } from '../../shared/offthread/run';
import type { RetargetingStore } from '../../shared/store/store';
import { attributionSettings, modelsProperty, timeOf } from './settings';

const show = { show: { operation: ['report'] } };
const DAY = 86_400_000;

export const description: INodeProperties[] = [
	{
		displayName: 'Period',
		name: 'period',
		type: 'options',
		options: [
			{ name: 'Last 7 Days', value: 'last7' },
			{ name: 'Last 30 Days', value: 'last30' },
			{ name: 'Between Two Dates', value: 'custom' },
		],
		default: 'last7',
		displayOptions: show,
		description: 'The conversions reported on, and the holdout draws compared',
	},
	{
		displayName: 'From',
		name: 'from',
		type: 'dateTime',
		default: '',
		required: true,
		displayOptions: { show: { operation: ['report'], period: ['custom'] } },
	},
	{
		displayName: 'To',
		name: 'to',
		type: 'dateTime',
		default: '',
		displayOptions: { show: { operation: ['report'], period: ['custom'] } },
		description: 'Excluded. Empty: now.',
	},
	modelsProperty('report'),
	{
		displayName: 'Output',
		name: 'output',
		type: 'options',
		options: [
			{ name: 'One Item per Row', value: 'rows', description: 'Flat rows, each with its section: for a spreadsheet or a table' },
			{ name: 'One Summary Item', value: 'summary', description: 'The whole report in one item, with an HTML version for an email' },
		],
		default: 'summary',
		displayOptions: show,
	},
	{
		displayName: 'Top Paths',
		name: 'topPaths',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 100 },
		default: 10,
		displayOptions: show,
		description: 'How many of the most frequent conversion paths to list',
	},
];

/** Builds the report once for the execution, whatever the input items. */
export async function execute(this: IExecuteFunctions, _items: INodeExecutionData[], store: RetargetingStore, options: IDataObject): Promise<INodeExecutionData[]> {
	const settings = attributionSettings(this, options);
	const period = this.getNodeParameter('period', 0, 'last7') as string;
	let to = new Date();
	let from = new Date(to.getTime() - (period === 'last30' ? 30 : 7) * DAY);
	if (period === 'custom') {
		from = timeOf(this, this.getNodeParameter('from', 0, ''), 'From', 0);
		to = timeOf(this, this.getNodeParameter('to', 0, ''), 'To', 0);
		if (from >= to) throw new NodeOperationError(this.getNode(), 'From must be before To', { description: `The period ${from.toISOString()} to ${to.toISOString()} is empty.` });
	}
	// Reading every touchpoint of the period takes seconds on a big store: done in a worker thread.
	const report = await offThreadResult(store.driver, 'attributionReport', { from, to, options: { ...settings, topPaths: Number(this.getNodeParameter('topPaths', 0, 10)) } });
	const span = { from: from.toISOString(), to: to.toISOString() };
	if (this.getNodeParameter('output', 0, 'summary') === 'rows') return reportRows(report, span).map((json) => ({ json, pairedItem: { item: 0 } }));
	return [{ json: { ...span, ...report, html: reportHtml(report, settings.models, span) } as unknown as INodeExecutionData['json'], pairedItem: { item: 0 } }];
}
