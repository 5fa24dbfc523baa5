import type { INodeProperties } from 'n8n-workflow';

import * as fit from './fit.operation';

/** The operations by their parameter value. */
export const operations = { fit };

export const operationProperty: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	displayOptions: { show: { resource: ['prediction'] } },
	options: [
		{
			name: 'Fit Models',
			value: 'fit',
			action: 'Fit the predictive models',
			description:
				"Learn from every customer's orders how often people buy, when they stop and what they spend, for the predictive segment conditions; once per run whatever the number of input items",
		},
	],
	default: 'fit',
};

export const description: INodeProperties[] = [...fit.description];
