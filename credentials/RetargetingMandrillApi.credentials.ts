import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

/** A Mailchimp Transactional (Mandrill) API key, for ESP Send. Mandrill takes the key in the JSON body. */
export class RetargetingMandrillApi implements ICredentialType {
	name = 'retargetingMandrillApi';

	displayName = 'Retargeting Mailchimp Transactional API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://mailchimp.com/developer/transactional/guides/quick-start/';

	properties: INodeProperties[] = [
		{ displayName: 'API Key', name: 'apiKey', type: 'string', typeOptions: { password: true }, default: '', required: true },
		{
			displayName: 'API URL',
			name: 'apiUrl',
			type: 'string',
			default: 'https://mandrillapp.com',
			description: 'Change only to send through a proxy or a test double of the Mailchimp Transactional API',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { body: { key: '={{$credentials.apiKey}}' } },
	};

	test: ICredentialTestRequest = {
		request: { baseURL: '={{$credentials.apiUrl}}', url: '/api/1.0/users/ping', method: 'POST', body: {} },
	};
}
