import type { ICredentialType, INodeProperties } from 'n8n-workflow';

const only = (...provider: string[]) => ({ show: { provider } });

/** How one email provider's event webhook proves it is the provider: a signature key, or a user, password or token. */
export class RetargetingEmailWebhookApi implements ICredentialType {
	name = 'retargetingEmailWebhookApi';

	displayName = 'Retargeting Email Provider Webhook API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://github.com/n8n-nodes-retargeting/n8n-nodes-retargeting/blob/main/docs/nodes/email-events-trigger.md#provider-event-webhooks';

	properties: INodeProperties[] = [
		{
			displayName: 'Provider',
			name: 'provider',
			type: 'options',
			options: [
				{ name: 'Amazon SES (through SNS)', value: 'ses' },
				{ name: 'Brevo', value: 'brevo' },
				{ name: 'Mailchimp Transactional', value: 'mandrill' },
				{ name: 'Mailjet', value: 'mailjet' },
				{ name: 'Postmark', value: 'postmark' },
				{ name: 'SendGrid', value: 'sendgrid' },
			],
			default: 'sendgrid',
			description: 'The provider whose event webhook this credential checks; set the Email Events Trigger to the same provider',
		},
		{
			displayName: 'Verification Key',
			name: 'publicKey',
			type: 'string',
			default: '',
			required: true,
			displayOptions: only('sendgrid'),
			description: 'SendGrid: Settings → Mail Settings → Event Webhook → Signed Event Webhook → the verification key (a base64 public key). Every event post must carry a valid signature.',
		},
		{
			displayName: 'Webhook Key',
			name: 'signingSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			displayOptions: only('mandrill'),
			description: "Mailchimp Transactional: Settings → Webhooks → the webhook's key. It signs each post (X-Mandrill-Signature).",
		},
		{
			displayName: 'Webhook URL as Registered',
			name: 'signedUrl',
			type: 'string',
			default: '',
			displayOptions: only('mandrill'),
			placeholder: 'https://n8n.example.com/webhook/email-events/mandrill',
			description: 'The exact URL you gave Mailchimp Transactional, which its signature covers. Empty: the URL the request arrived at (wrong behind a proxy that rewrites it).',
		},
		{
			displayName: 'SNS Topic ARNs',
			name: 'topicArns',
			type: 'string',
			default: '',
			required: true,
			displayOptions: only('ses'),
			placeholder: 'arn:aws:sns:eu-west-1:123456789012:ses-events',
			description: 'The SNS topics of your SES event destination, separated by commas. Messages of any other topic are refused; the signature of each message is checked against its AWS certificate.',
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			displayOptions: only('postmark', 'mailjet', 'brevo'),
			description: 'This provider does not sign its webhooks: give it a user and password (HTTP Basic auth, in the webhook URL as https://user:password@host/...) or a token',
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: only('postmark', 'mailjet', 'brevo'),
		},
		{
			displayName: 'Token',
			name: 'token',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: only('postmark', 'mailjet', 'brevo'),
			description: "Instead of a user and password: a secret of at least 24 characters the provider sends as a header (X-Webhook-Token, or Authorization: Bearer for Brevo's token auth) or in the URL as ?token=",
		},
	];
}
