import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

/** A Mailjet API key and secret, for ESP Send (Send API v3.1). */
export class RetargetingMailjetApi implements ICredentialType {
	name = 'retargetingMailjetApi';

	displayName = 'Retargeting Mailjet API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://dev.mailjet.com/email/guides/#authentication';

	properties: INodeProperties[] = [
		{ displayName: 'API Key', name: 'apiKey', type: 'string', typeOptions: { password: true }, default: '', required: true },
		{ displayName: 'API Secret', name: 'apiSecret', type: 'string', typeOptions: { password: true }, default: '', required: true },
		{
			displayName: 'API URL',
			name: 'apiUrl',
			type: 'string',
			default: 'https://api.mailjet.com',
			description: 'Change only for the US region (https://api.us.mailjet.com), a proxy, or a test double of the Mailjet API',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { auth: { username: '={{$credentials.apiKey}}', password: '={{$credentials.apiSecret}}' } },
	};

	test: ICredentialTestRequest = {
		request: { baseURL: '={{$credentials.apiUrl}}', url: '/v3/REST/apikey' },
	};
}
