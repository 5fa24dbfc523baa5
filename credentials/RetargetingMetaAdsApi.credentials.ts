import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

/** A Meta Marketing API access token with ads_management, for Banner Partner Push (Custom Audiences). */
export class RetargetingMetaAdsApi implements ICredentialType {
	name = 'retargetingMetaAdsApi';

	displayName = 'Retargeting Meta Ads API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences';

	properties: INodeProperties[] = [
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'A system user token with the ads_management permission on the ad account of the audiences',
		},
		{
			displayName: 'API URL',
			name: 'apiUrl',
			type: 'string',
			default: 'https://graph.facebook.com/v21.0',
			description: 'The Graph API with its version; change only for another version, a proxy or a test double',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.accessToken}}' } },
	};

	test: ICredentialTestRequest = {
		request: { baseURL: '={{$credentials.apiUrl}}', url: '/me' },
	};
}
