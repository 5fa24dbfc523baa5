import {
	NodeConnectionTypes,
	type IDataObject,
	type INodeType,
	type INodeTypeDescription,
	type IWebhookDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import { FEEDBACK_KINDS } from '../shared/feedback/model';
import { checkEmailWebhook, checkUnsubscribePage } from '../shared/feedbackCredentials';
import { checkPostgresStore, storeProperties } from '../shared/parameters/storeParameters';
import { servedByN8n } from '../shared/servedWebhooks';
import { type EventSource, handleProviderRequest, handleUnsubscribeRequest } from './handlers';

const webhook = (httpMethod: 'GET' | 'POST' | 'HEAD'): IWebhookDescription => ({
	name: 'default',
	httpMethod,
	responseMode: 'onReceived',
	path: '={{$parameter["path"]}}',
	isFullPath: true,
});

const providersOnly = { show: { source: ['sendgrid', 'mandrill', 'ses', 'postmark', 'mailjet', 'brevo'] } };

export class EmailEventsTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Email Events Trigger',
		name: 'emailEventsTrigger',
		icon: { light: 'file:../../icons/email-events-trigger.svg', dark: 'file:../../icons/email-events-trigger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["source"] + " · /webhook/" + $parameter["path"]}}',
		description:
			"Listens back: the package's one-click unsubscribe page, and the email providers' event webhooks (bounces, spam complaints, unsubscribes, deliveries, opens, clicks), applied to the retargeting store",
		defaults: { name: 'Email Events Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'retargetingUnsubscribeApi', required: true, testedBy: 'checkUnsubscribePage', displayOptions: { show: { source: ['unsubscribe'] } } },
			{ name: 'retargetingEmailWebhookApi', required: true, testedBy: 'checkEmailWebhook', displayOptions: providersOnly },
			{ name: 'retargetingPostgresApi', required: true, testedBy: 'checkPostgresStore', displayOptions: { show: { store: ['postgres'] } } },
		],
		webhooks: [webhook('POST'), webhook('GET'), webhook('HEAD')],
		properties: [
			{
				displayName: 'Source',
				name: 'source',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Amazon SES (Through SNS)', value: 'ses', description: 'An SNS HTTPS subscription of the topic your SES event destination publishes to' },
					{ name: 'Brevo', value: 'brevo', description: 'Transactional webhook, with Basic auth or a token' },
					{ name: 'Mailchimp Transactional', value: 'mandrill', description: 'Webhook, signed with X-Mandrill-Signature' },
					{ name: 'Mailjet', value: 'mailjet', description: 'Event API, with Basic auth or a token' },
					{ name: 'Postmark', value: 'postmark', description: 'Webhooks (bounce, spam complaint, subscription change, delivery, open, click), with Basic auth or a token' },
					{ name: 'SendGrid', value: 'sendgrid', description: 'Signed Event Webhook (ECDSA signature checked)' },
					{ name: 'Unsubscribe Page', value: 'unsubscribe', description: 'The link and one-click List-Unsubscribe header ESP Send puts in every email' },
				],
				default: 'unsubscribe',
				description: 'What calls this URL. Give each source its own trigger and path; for plain SMTP, read bounce emails with the IMAP trigger and Retargeting Profile → Apply Bounce Email.',
			},
			{
				displayName: 'Path',
				name: 'path',
				type: 'string',
				default: 'unsubscribe',
				required: true,
				description:
					"The end of this trigger's URL: your n8n's public URL, /webhook/, then this path. Unsubscribe Page: put the whole URL in the Retargeting Unsubscribe Page credential. A provider: register the URL as its event webhook.",
			},
			{
				displayName: 'Soft Bounces Before Suppression',
				name: 'softBounceLimit',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 3,
				displayOptions: providersOnly,
				description: 'An address that soft-bounces this many times in a row (no delivery, open or click between) is suppressed',
			},
			{
				displayName: 'Start the Workflow On',
				name: 'triggerOn',
				type: 'multiOptions',
				options: FEEDBACK_KINDS.map((kind) => ({ name: kind.replace('_', ' ').replace(/^./, (c) => c.toUpperCase()), value: kind })),
				default: ['hard_bounce', 'invalid_address', 'complaint', 'unsubscribed'],
				description:
					'Which events start an execution, one item each (for example to tell your CRM). Every event is applied to the store either way: suppressions, consent, touchpoints.',
			},
			...storeProperties,
		],
	};

	methods = { credentialTest: { checkPostgresStore, checkUnsubscribePage, checkEmailWebhook } };

	webhookMethods = servedByN8n;

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const source = this.getNodeParameter('source', 'unsubscribe') as EventSource;
		const selection = new Set(this.getNodeParameter('triggerOn', []) as string[]);
		const started = source === 'unsubscribe' ? await handleUnsubscribeRequest(this) : await handleProviderRequest(this, source);
		const items = started.filter((item) => selection.has(String(item.kind)));
		return items.length ? { noWebhookResponse: true, workflowData: [items.map((json) => ({ json: json as IDataObject }))] } : { noWebhookResponse: true };
	}
}
