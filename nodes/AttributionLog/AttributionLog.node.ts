import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { personProperties } from '../shared/parameters/personParameters';
import { checkPostgresStore, storeFor, storeProperties } from '../shared/parameters/storeParameters';
import * as logConversion from './actions/logConversion.operation';
import * as logTouchpoint from './actions/logTouchpoint.operation';
import * as report from './actions/report.operation';
import { attributionOptions } from './actions/settings';

export class AttributionLog implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Attribution Log',
		name: 'attributionLog',
		icon: { light: 'file:../../icons/attribution-log.svg', dark: 'file:../../icons/attribution-log.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"]}}',
		description: 'Log touchpoints and conversions, credit each conversion under seven models, and report what each channel earned against the holdout',
		defaults: { name: 'Attribution Log' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'retargetingPostgresApi',
				required: true,
				testedBy: 'checkPostgresStore',
				displayOptions: { show: { store: ['postgres'] } },
			},
		],
		properties: [
			...storeProperties,
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Log Conversion', value: 'logConversion', action: 'Log a conversion and return its credit', description: 'Record an order once and return its credit rows under each model' },
					{ name: 'Log Touchpoint', value: 'logTouchpoint', action: 'Log a touchpoint', description: 'Record an email open or click, an ad click or impression, or a campaign visit' },
					{ name: 'Report', value: 'report', action: 'Report attribution', description: 'Revenue by channel and campaign per model, top paths, time to conversion, path length and holdout lift' },
				],
				default: 'report',
			},
			...personProperties.map((p) => ({ ...p, displayOptions: { show: { operation: ['logTouchpoint', 'logConversion'] } } })),
			...logTouchpoint.description,
			...logConversion.description,
			...report.description,
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				displayOptions: { show: { operation: ['logConversion', 'report'] } },
				options: attributionOptions,
			},
		],
	};

	methods = { credentialTest: { checkPostgresStore } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const operation = this.getNodeParameter('operation', 0) as 'logTouchpoint' | 'logConversion' | 'report';
		const store = await storeFor(this);
		if (operation === 'logTouchpoint') return [await logTouchpoint.execute.call(this, items, store)];
		const options = this.getNodeParameter('options', 0, {}) as IDataObject;
		if (operation === 'logConversion') return [await logConversion.execute.call(this, items, store, options)];
		return [await report.execute.call(this, items, store, options)];
	}
}
