import type { INodeProperties } from 'n8n-workflow';

import * as applyBounceEmail from './applyBounceEmail.operation';

/** The operations by their parameter value. */
export const operations = { applyBounceEmail };

export const operationProperty: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	displayOptions: { show: { resource: ['feedback'] } },
	options: [
		{
			name: 'Apply Bounce Email',
			value: 'applyBounceEmail',
			action: 'Apply a bounce or complaint email',
			description: 'Read a delivery status (DSN) or complaint (ARF) report from the IMAP trigger: hard bounces and complaints suppress the address, soft bounces are counted',
		},
	],
	default: 'applyBounceEmail',
};

export const description: INodeProperties[] = [...applyBounceEmail.description];
