import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

/** A Postmark server's API token, for ESP Send. */
export class RetargetingPostmarkApi implements ICredentialType {
	name = 'retargetingPostmarkApi';

	displayName = 'Retargeting Postmark API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://postmarkapp.com/developer/api/overview#authentication';

	properties: INodeProperties[] = [
		{
			displayName: 'Server API Token',
			name: 'serverToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: "The token of the Postmark server that sends, under the server's API Tokens",
		},
		{
			displayName: 'API URL',
			name: 'apiUrl',
			type: 'string',
			default: 'https://api.postmarkapp.com',
			description: 'Change only to send through a proxy or a test double of the Postmark API',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { 'X-Postmark-Server-Token': '={{$credentials.serverToken}}' } },
	};

	test: ICredentialTestRequest = {
		request: { baseURL: '={{$credentials.apiUrl}}', url: '/server', headers: { Accept: 'application/json' } },
	};
}
