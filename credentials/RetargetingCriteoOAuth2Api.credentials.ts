import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** A Criteo API app's client credentials (OAuth2), for Banner Partner Push (contact lists). */
export class RetargetingCriteoOAuth2Api implements ICredentialType {
	name = 'retargetingCriteoOAuth2Api';

	extends = ['oAuth2Api'];

	displayName = 'Retargeting Criteo OAuth2 API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://developers.criteo.com/marketing-solutions/docs/authorization-code-setup';

	properties: INodeProperties[] = [
		{ displayName: 'Grant Type', name: 'grantType', type: 'hidden', default: 'clientCredentials' },
		{
			displayName: 'Access Token URL',
			name: 'accessTokenUrl',
			type: 'string',
			default: 'https://api.criteo.com/oauth2/token',
			required: true,
		},
		{ displayName: 'Scope', name: 'scope', type: 'hidden', default: '' },
		{ displayName: 'Auth URI Query Parameters', name: 'authQueryParameters', type: 'hidden', default: '' },
		{ displayName: 'Authentication', name: 'authentication', type: 'hidden', default: 'body' },
		{
			displayName: 'API URL',
			name: 'apiUrl',
			type: 'string',
			default: 'https://api.criteo.com/2025-07',
			description: 'The Marketing Solutions API with its version (https://api.criteo.com/<version>)',
		},
	];
}
