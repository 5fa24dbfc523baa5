import type { INodeProperties } from 'n8n-workflow';

import * as get from './get.operation';

/** The operations by their parameter value. */
export const operations = { get };

export const operationProperty: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	displayOptions: { show: { resource: ['account'] } },
	options: [
		{
			name: 'Get',
			value: 'get',
			action: 'Get a company',
			description: 'The company of a group ID, its traits and its people',
		},
	],
	default: 'get',
};

export const description: INodeProperties[] = [...get.description];
