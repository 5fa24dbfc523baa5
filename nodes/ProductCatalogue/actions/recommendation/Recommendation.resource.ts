import type { INodeProperties } from 'n8n-workflow';

import type { Operation } from '../router';
import * as addToItems from './addToItems.operation';
import * as refresh from './refresh.operation';

/** The operations by their parameter value. */
export const operations: Record<string, Operation> = { addToItems, refresh };

export const operationProperty: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	displayOptions: { show: { resource: ['recommendation'] } },
	options: [
		{ name: 'Add to Items', value: 'addToItems', action: 'Add recommendations to items', description: 'Add the products to show each person to their item' },
		{ name: 'Refresh', value: 'refresh', action: 'Refresh recommendations', description: 'Add the events tracked since the last refresh to what recommendations are computed from' },
	],
	default: 'addToItems',
};

export const description: INodeProperties[] = [...addToItems.description, ...refresh.description];
