import { type IExecuteFunctions, type INodeExecutionData, NodeOperationError } from 'n8n-workflow';

import { storeFor } from '../../shared/parameters/storeParameters';
import type { RetargetingStore } from '../../shared/store/store';
import * as account from './account/Account.resource';
import * as feedback from './feedback/Feedback.resource';
import * as person from './person/Person.resource';
import * as prediction from './prediction/Prediction.resource';
import * as segment from './segment/Segment.resource';
import * as store from './store/Store.resource';

/** One operation run for one item: its output items, each paired to that item. */
interface Operation {
	execute(this: IExecuteFunctions, store: RetargetingStore, i: number, item: INodeExecutionData): Promise<INodeExecutionData[]>;
}

const resources: Record<string, Record<string, Operation>> = {
	account: account.operations,
	feedback: feedback.operations,
	person: person.operations,
	prediction: prediction.operations,
	segment: segment.operations,
	store: store.operations,
};

function operationOf(ctx: IExecuteFunctions, resource: string, i: number): Operation {
	const operation = ctx.getNodeParameter('operation', i) as string;
	const found = resources[resource]?.[operation];
	if (!found) throw new NodeOperationError(ctx.getNode(), `The operation "${operation}" of "${resource}" is not supported`, { itemIndex: i });
	return found;
}

/** The resources whose operations act on the whole store: once per execution, whatever the number of items. */
const ONCE_PER_EXECUTION = new Set(['store', 'prediction']);

/**
 * Runs the chosen operation for each item; an item that fails stops the node, or with continue on
 * fail becomes an item with the error. Store → Purge Old Data and Prediction → Fit Models run once
 * per execution, whatever the number of items, their one item paired to the first.
 */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const retargetingStore = await storeFor(this);
	const resource = this.getNodeParameter('resource', 0, 'person') as string;
	const runs = ONCE_PER_EXECUTION.has(resource) ? [0] : items.keys();
	const out: INodeExecutionData[] = [];
	for (const i of runs) {
		try {
			const operation = operationOf(this, resource, i);
			// Pushed one by one: a segment's members may be too many to spread as arguments.
			for (const result of await operation.execute.call(this, retargetingStore, i, items[i])) out.push(result);
		} catch (error) {
			if (!this.continueOnFail()) {
				throw error instanceof NodeOperationError ? error : new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
			}
			out.push({ json: { error: (error as Error).message }, pairedItem: { item: i } });
		}
	}
	return [out];
}
