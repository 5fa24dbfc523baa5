import type { INodeProperties } from 'n8n-workflow';

import * as importFeed from './importFeed.operation';

/** The operations by their parameter value. */
export const operations = { importFeed };

export const operationProperty: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	displayOptions: { show: { resource: ['product'] } },
	options: [
		{
			name: 'Import Feed',
			value: 'importFeed',
			action: 'Import a product feed',
			description: 'Read a Google Merchant Center feed (XML, CSV or TSV) and create or update its products in the store',
		},
	],
	default: 'importFeed',
};

export const description: INodeProperties[] = [...importFeed.description];
