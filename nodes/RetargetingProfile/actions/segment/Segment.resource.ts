import type { INodeProperties } from 'n8n-workflow';

import * as getMembers from './getMembers.operation';

/** The operations by their parameter value. */
export const operations = { getMembers };

export const operationProperty: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	displayOptions: { show: { resource: ['segment'] } },
	options: [
		{
			name: 'Get Members',
			value: 'getMembers',
			action: 'Get the members of a segment',
			description: 'Every person in the store who meets the conditions, with what the match read',
		},
	],
	default: 'getMembers',
};

export const description: INodeProperties[] = [...getMembers.description];
