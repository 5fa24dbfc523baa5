import {
	NodeConnectionTypes,
	type ICredentialsDecrypted,
	type ICredentialTestFunctions,
	type IDataObject,
	type IHookFunctions,
	type INodeCredentialTestResult,
	type INodeType,
	type INodeTypeDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import { basicAuthUser, secretsMatch, writeKeyProblem } from '../shared/secrets';

export class TrackingTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Tracking Trigger',
		name: 'trackingTrigger',
		icon: { light: 'file:../../icons/retargeting.svg', dark: 'file:../../icons/retargeting.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{"POST /webhook/" + $parameter["path"]}}',
		description: 'Collects tracking events from websites, apps and servers and starts retargeting flows',
		defaults: {
			name: 'Tracking Trigger',
		},
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'retargetingTrackingApi',
				required: true,
				testedBy: 'checkWriteKey',
			},
		],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode: 'onReceived',
				path: '={{$parameter["path"]}}',
				isFullPath: true,
			},
		],
		properties: [
			{
				displayName: 'Path',
				name: 'path',
				type: 'string',
				default: 'track',
				required: true,
				placeholder: 'track',
				description:
					'The end of the collection URL: websites and servers send events to your n8n URL followed by /webhook/ and this path. Give each workflow its own path.',
			},
		],
	};

	methods = {
		credentialTest: {
			async checkWriteKey(
				this: ICredentialTestFunctions,
				credential: ICredentialsDecrypted,
			): Promise<INodeCredentialTestResult> {
				const problem = writeKeyProblem(String(credential.data?.writeKey ?? ''));
				return problem
					? { status: 'Error', message: problem }
					: { status: 'OK', message: 'The write key is usable' };
			},
		},
	};

	webhookMethods = {
		default: {
			// The URL is served by n8n itself; there is no remote subscription to create or remove.
			async checkExists(this: IHookFunctions): Promise<boolean> {
				return true;
			},
			async create(this: IHookFunctions): Promise<boolean> {
				return true;
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const req = this.getRequestObject();
		const res = this.getResponseObject();
		const credentials = await this.getCredentials<{ writeKey: string }>('retargetingTrackingApi');

		const queryKey = typeof req.query.writeKey === 'string' ? req.query.writeKey : undefined;
		const presented = basicAuthUser(req.headers.authorization) ?? queryKey ?? '';
		if (!secretsMatch(presented, credentials.writeKey)) {
			res
				.status(401)
				.set('WWW-Authenticate', 'Basic realm="retargeting"')
				.json({ error: 'Unauthorized: send the source write key as the Basic auth user name' });
			return { noWebhookResponse: true };
		}

		const body = this.getBodyData();
		const events = Array.isArray(body.batch) ? (body.batch as IDataObject[]) : [body];
		res.status(200).json({ accepted: events.length });
		return {
			noWebhookResponse: true,
			workflowData: [events.map((json) => ({ json }))],
		};
	}
}
