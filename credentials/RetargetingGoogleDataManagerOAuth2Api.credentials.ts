import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * Google OAuth2 for the Data Manager API, for Banner Partner Push (audience members). Customer
 * Match through the Google Ads API is closed to new adopters; the Data Manager API replaces it.
 */
export class RetargetingGoogleDataManagerOAuth2Api implements ICredentialType {
	name = 'retargetingGoogleDataManagerOAuth2Api';

	extends = ['oAuth2Api'];

	displayName = 'Retargeting Google Data Manager OAuth2 API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://developers.google.com/data-manager/api';

	properties: INodeProperties[] = [
		{ displayName: 'Grant Type', name: 'grantType', type: 'hidden', default: 'authorizationCode' },
		{ displayName: 'Authorization URL', name: 'authUrl', type: 'hidden', default: 'https://accounts.google.com/o/oauth2/v2/auth' },
		{ displayName: 'Access Token URL', name: 'accessTokenUrl', type: 'hidden', default: 'https://oauth2.googleapis.com/token' },
		{ displayName: 'Scope', name: 'scope', type: 'hidden', default: 'https://www.googleapis.com/auth/datamanager' },
		{ displayName: 'Auth URI Query Parameters', name: 'authQueryParameters', type: 'hidden', default: 'access_type=offline&prompt=consent' },
		{ displayName: 'Authentication', name: 'authentication', type: 'hidden', default: 'body' },
		{
			displayName: 'API URL',
			name: 'apiUrl',
			type: 'string',
			default: 'https://datamanager.googleapis.com',
			description: 'Change only for a proxy or a test double of the Data Manager API',
		},
	];
}
