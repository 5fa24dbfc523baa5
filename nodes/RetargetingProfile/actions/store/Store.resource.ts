import type { INodeProperties } from 'n8n-workflow';

import * as purge from './purge.operation';

/** The operations by their parameter value. */
export const operations = { purge };

export const operationProperty: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	displayOptions: { show: { resource: ['store'] } },
	options: [
		{
			name: 'Purge Old Data',
			value: 'purge',
			action: 'Purge old data',
			description: 'Delete the events older than a given age, once per run whatever the number of input items',
		},
	],
	default: 'purge',
};

export const description: INodeProperties[] = [...purge.description];
