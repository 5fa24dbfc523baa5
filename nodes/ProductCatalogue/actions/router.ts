import { type IExecuteFunctions, type INodeExecutionData, NodeOperationError } from 'n8n-workflow';

import { storeFor } from '../../shared/parameters/storeParameters';
import type { RetargetingStore } from '../../shared/store/store';
import * as product from './product/Product.resource';
import * as recommendation from './recommendation/Recommendation.resource';

/**
 * One operation run on all the input items at once (so recommendations can be computed in one
 * pass); it returns its output items, each paired to its input item, and honours continue on fail
 * for an item that fails.
 */
export interface Operation {
	execute(this: IExecuteFunctions, store: RetargetingStore, items: INodeExecutionData[]): Promise<INodeExecutionData[]>;
}

const resources: Record<string, Record<string, Operation>> = {
	product: product.operations,
	recommendation: recommendation.operations,
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as string;
	const found = resources[resource]?.[operation];
	if (!found) throw new NodeOperationError(this.getNode(), `The operation "${operation}" of "${resource}" is not supported`);
	return [await found.execute.call(this, await storeFor(this), this.getInputData())];
}
