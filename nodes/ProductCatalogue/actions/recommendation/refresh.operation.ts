import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { offThreadResult } from '../../../shared/offthread/run';
import type { RetargetingStore } from '../../../shared/store/store';

export const description: INodeProperties[] = [
	{
		displayName:
			'Reads the product views and orders tracked since the last refresh and adds them to what recommendations are computed from. Run it on a schedule, for example every hour; events of the last minute wait for the next run.',
		name: 'refreshNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { resource: ['recommendation'], operation: ['refresh'] } },
	},
];

/** One refresh, whatever the number of input items; its report is the one output item. */
export async function execute(this: IExecuteFunctions, store: RetargetingStore, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	// Reading a day of events is seconds of work: done in a worker thread.
	const report = await offThreadResult(store.driver, 'refreshRecommendations', { now: new Date() });
	return [{ json: report as unknown as IDataObject, pairedItem: items.map((_item, i) => ({ item: i })) }];
}
