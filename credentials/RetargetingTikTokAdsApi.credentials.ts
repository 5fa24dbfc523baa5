import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

/** A TikTok Marketing API access token, for Banner Partner Push (custom audiences). */
export class RetargetingTikTokAdsApi implements ICredentialType {
	name = 'retargetingTikTokAdsApi';

	displayName = 'Retargeting TikTok Ads API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://business-api.tiktok.com/portal/docs';

	properties: INodeProperties[] = [
		{ displayName: 'Access Token', name: 'accessToken', type: 'string', typeOptions: { password: true }, default: '', required: true },
		{
			displayName: 'API URL',
			name: 'apiUrl',
			type: 'string',
			default: 'https://business-api.tiktok.com',
			description: 'Change only for a proxy or a test double of the TikTok Marketing API',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { 'Access-Token': '={{$credentials.accessToken}}' } },
	};

	// TikTok answers 200 with its own code: a refused token is a code, not a status.
	test: ICredentialTestRequest = {
		request: { baseURL: '={{$credentials.apiUrl}}', url: '/open_api/v1.3/user/info/' },
		rules: [40001, 40102, 40104, 40105].map((value) => ({ type: 'responseSuccessBody' as const, properties: { key: 'code', value, message: `TikTok refused the access token (code ${value})` } })),
	};
}
