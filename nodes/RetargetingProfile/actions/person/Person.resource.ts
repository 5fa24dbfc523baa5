import type { INodeProperties } from 'n8n-workflow';

import * as erase from './erase.operation';
import * as exportPerson from './export.operation';
import * as get from './get.operation';
import { lookupProperties } from './lookup';
import * as merge from './merge.operation';
import * as suppress from './suppress.operation';
import * as unsuppress from './unsuppress.operation';
import * as upsert from './upsert.operation';

/** The operations by their parameter value. */
export const operations = { erase, export: exportPerson, get, merge, suppress, unsuppress, upsert };

export const operationProperty: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	displayOptions: { show: { resource: ['person'] } },
	options: [
		{ name: 'Create or Update', value: 'upsert', action: 'Create or update a person', description: 'Create a new record, or update the current one if it already exists (upsert)' },
		{ name: 'Erase', value: 'erase', action: 'Erase a person', description: 'Right to erasure: delete every row about the person in the store' },
		{ name: 'Export', value: 'export', action: 'Export a person', description: 'Everything held about the person, for an access request' },
		{ name: 'Get', value: 'get', action: 'Get a person', description: 'The profile, its identities, consent, counters and company' },
		{ name: 'Merge', value: 'merge', action: 'Merge two people', description: 'Merge a second profile into the first, known to be the same person' },
		{ name: 'Suppress', value: 'suppress', action: 'Suppress a person', description: 'Never email or target the person again, whatever their consent' },
		{ name: 'Unsuppress', value: 'unsuppress', action: 'Unsuppress a person', description: 'Lift a suppression' },
	],
	default: 'get',
};

export const description: INodeProperties[] = [
	...lookupProperties,
	...merge.description,
	...get.description,
	...suppress.description,
	...unsuppress.description,
	...exportPerson.description,
	...erase.description,
	...upsert.description,
];
