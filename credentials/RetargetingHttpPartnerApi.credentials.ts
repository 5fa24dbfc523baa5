import type { ICredentialDataDecryptedObject, ICredentialType, IHttpRequestOptions, INodeProperties } from 'n8n-workflow';

/** Any ad partner's HTTP API, for Banner Partner Push: its base URL and one authentication header. */
export class RetargetingHttpPartnerApi implements ICredentialType {
	name = 'retargetingHttpPartnerApi';

	displayName = 'Retargeting HTTP Partner API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://github.com/n8n-nodes-retargeting/n8n-nodes-retargeting/blob/main/docs/nodes/banner-partner-push.md#http-partner';

	properties: INodeProperties[] = [
		{ displayName: 'Base URL', name: 'baseUrl', type: 'string', default: '', required: true, placeholder: 'https://api.partner.example/v1' },
		{ displayName: 'Header Name', name: 'headerName', type: 'string', default: 'Authorization', description: 'The header that carries the key' },
		{
			displayName: 'Header Value (Secret)',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'Bearer …',
		},
	];

	async authenticate(credentials: ICredentialDataDecryptedObject, requestOptions: IHttpRequestOptions): Promise<IHttpRequestOptions> {
		const name = String(credentials.headerName ?? '').trim();
		if (!name) return requestOptions;
		return { ...requestOptions, headers: { ...requestOptions.headers, [name]: String(credentials.secret ?? '') } };
	}
}
