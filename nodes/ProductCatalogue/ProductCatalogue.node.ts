import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { checkPostgresStore, storeProperties } from '../shared/parameters/storeParameters';
import * as product from './actions/product/Product.resource';
import * as recommendation from './actions/recommendation/Recommendation.resource';
import { router } from './actions/router';

export class ProductCatalogue implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Product Catalogue',
		name: 'productCatalogue',
		icon: { light: 'file:../../icons/product-catalogue.svg', dark: 'file:../../icons/product-catalogue.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"]}}',
		description: 'Import your product feed into the retargeting store and add product recommendations to each person',
		defaults: { name: 'Product Catalogue' },
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
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Product', value: 'product', description: 'The catalogue: products imported from a feed or learnt from tracked events' },
					{ name: 'Recommendation', value: 'recommendation', description: 'Products to show a person, computed from what people viewed and bought' },
				],
				default: 'product',
			},
			product.operationProperty,
			recommendation.operationProperty,
			...product.description,
			...recommendation.description,
		],
	};

	methods = { credentialTest: { checkPostgresStore } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
