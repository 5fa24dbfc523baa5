import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** LinkedIn OAuth2 with rw_dmp_segments, for Banner Partner Push (Matched Audiences). */
export class RetargetingLinkedInAdsOAuth2Api implements ICredentialType {
	name = 'retargetingLinkedInAdsOAuth2Api';

	extends = ['oAuth2Api'];

	displayName = 'Retargeting LinkedIn Ads OAuth2 API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://learn.microsoft.com/en-us/linkedin/marketing/matched-audiences/matched-audiences';

	properties: INodeProperties[] = [
		{ displayName: 'Grant Type', name: 'grantType', type: 'hidden', default: 'authorizationCode' },
		{ displayName: 'Authorization URL', name: 'authUrl', type: 'hidden', default: 'https://www.linkedin.com/oauth/v2/authorization' },
		{ displayName: 'Access Token URL', name: 'accessTokenUrl', type: 'hidden', default: 'https://www.linkedin.com/oauth/v2/accessToken' },
		{ displayName: 'Scope', name: 'scope', type: 'hidden', default: 'rw_dmp_segments' },
		{ displayName: 'Auth URI Query Parameters', name: 'authQueryParameters', type: 'hidden', default: '' },
		{ displayName: 'Authentication', name: 'authentication', type: 'hidden', default: 'body' },
		{
			displayName: 'API Version',
			name: 'apiVersion',
			type: 'string',
			default: '202510',
			description: 'The LinkedIn-Version header (YYYYMM). LinkedIn retires a version about a year after it comes out.',
		},
		{
			displayName: 'API URL',
			name: 'apiUrl',
			type: 'string',
			default: 'https://api.linkedin.com',
			description: 'Change only for a proxy or a test double of the LinkedIn Marketing API',
		},
	];
}
