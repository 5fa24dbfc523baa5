import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

/** A SendGrid API key with the Mail Send permission, for ESP Send. */
export class RetargetingSendGridApi implements ICredentialType {
	name = 'retargetingSendGridApi';

	displayName = 'Retargeting SendGrid API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://www.twilio.com/docs/sendgrid/ui/account-and-settings/api-keys';

	properties: INodeProperties[] = [
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'A key with the Mail Send permission',
		},
		{
			displayName: 'API URL',
			name: 'apiUrl',
			type: 'string',
			default: 'https://api.sendgrid.com',
			description: 'Change only for the EU region (https://api.eu.sendgrid.com), a proxy, or a test double of the SendGrid API',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.apiKey}}' } },
	};

	test: ICredentialTestRequest = {
		request: { baseURL: '={{$credentials.apiUrl}}', url: '/v3/scopes', headers: { Accept: 'application/json' } },
	};
}
