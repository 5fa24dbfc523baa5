import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { checkPostgresStore, storeProperties } from '../shared/parameters/storeParameters';
import * as account from './actions/account/Account.resource';
import * as feedback from './actions/feedback/Feedback.resource';
import * as person from './actions/person/Person.resource';
import * as prediction from './actions/prediction/Prediction.resource';
import { router } from './actions/router';
import * as segment from './actions/segment/Segment.resource';
import * as store from './actions/store/Store.resource';

export class RetargetingProfile implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Retargeting Profile',
		name: 'retargetingProfile',
		icon: { light: 'file:../../icons/retargeting-profile.svg', dark: 'file:../../icons/retargeting-profile.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"]}}',
		description: 'Get, update, merge, suppress, export or erase a person in the retargeting store, get a company and its people, fit its predictive models, or purge its old data',
		defaults: { name: 'Retargeting Profile' },
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
					{ name: 'Account (B2B)', value: 'account', description: 'A company of the group calls, with its traits and people' },
					{ name: 'Email Feedback', value: 'feedback', description: 'Bounce and complaint reports that come back by email, for plain SMTP' },
					{ name: 'Person', value: 'person', description: 'A profile: IDs, traits, consent, counters and history' },
					{ name: 'Prediction', value: 'prediction', description: 'The predictive models of who still buys and what they will spend' },
					{ name: 'Segment', value: 'segment', description: 'The people of the store who meet conditions' },
					{ name: 'Store', value: 'store', description: 'The store itself: retention of old data' },
				],
				default: 'person',
			},
			// In the order the editor has always listed them: saved workflows and their tests rely on it.
			person.operationProperty,
			segment.operationProperty,
			store.operationProperty,
			feedback.operationProperty,
			prediction.operationProperty,
			account.operationProperty,
			...account.description,
			...prediction.description,
			...feedback.description,
			...store.description,
			...segment.description,
			...person.description,
		],
	};

	methods = {
		credentialTest: {
			checkPostgresStore,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
