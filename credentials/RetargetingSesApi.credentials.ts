import type { ICredentialDataDecryptedObject, ICredentialTestRequest, ICredentialType, IHttpRequestOptions, INodeProperties } from 'n8n-workflow';

import { signAwsRequest } from '../nodes/shared/delivery/aws-signature';

/** The SES API endpoint of the credential: its own URL if set, else the region's. */
export function sesEndpoint(credentials: ICredentialDataDecryptedObject): string {
	const custom = String(credentials.apiUrl ?? '').trim();
	return (custom || `https://email.${String(credentials.region ?? 'us-east-1').trim()}.amazonaws.com`).replace(/\/+$/, '');
}

/**
 * AWS keys allowed to send through Amazon SES (API v2), for ESP Send. Requests are signed with
 * Signature Version 4 here, over the exact JSON sent; a path without a host goes to the
 * credential's endpoint.
 */
export class RetargetingSesApi implements ICredentialType {
	name = 'retargetingSesApi';

	displayName = 'Retargeting Amazon SES API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html';

	properties: INodeProperties[] = [
		{
			displayName: 'Region',
			name: 'region',
			type: 'string',
			default: 'us-east-1',
			required: true,
			placeholder: 'eu-west-1',
			description: 'The AWS region where the sending identity is verified',
		},
		{ displayName: 'Access Key ID', name: 'accessKeyId', type: 'string', default: '', required: true },
		{
			displayName: 'Secret Access Key',
			name: 'secretAccessKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Of an IAM user or role allowed ses:SendEmail (and ses:GetAccount for the credential test)',
		},
		{
			displayName: 'Session Token',
			name: 'sessionToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Only for temporary credentials (AWS STS)',
		},
		{
			displayName: 'API URL',
			name: 'apiUrl',
			type: 'string',
			default: '',
			placeholder: 'https://email.eu-west-1.amazonaws.com',
			description: "Empty: the region's SES endpoint. Set only for a VPC endpoint, a proxy or a test double of the SES API.",
		},
	];

	async authenticate(credentials: ICredentialDataDecryptedObject, requestOptions: IHttpRequestOptions): Promise<IHttpRequestOptions> {
		const path = requestOptions.url;
		const url = /^https?:\/\//i.test(path) ? path : `${sesEndpoint(credentials)}${path.startsWith('/') ? '' : '/'}${path}`;
		const body = requestOptions.body === undefined || requestOptions.body === '' ? '' : typeof requestOptions.body === 'string' ? requestOptions.body : JSON.stringify(requestOptions.body);
		const headers = Object.fromEntries(Object.entries(requestOptions.headers ?? {}).filter(([name]) => !/^(content-type|authorization|x-amz-.*)$/i.test(name)));
		const contentType: Record<string, string> = body ? { 'content-type': 'application/json' } : {};
		const signed = signAwsRequest(
			{ method: requestOptions.method ?? 'GET', url, headers: contentType, body },
			{
				accessKeyId: String(credentials.accessKeyId ?? '').trim(),
				secretAccessKey: String(credentials.secretAccessKey ?? ''),
				sessionToken: String(credentials.sessionToken ?? '').trim() || undefined,
			},
			{ region: String(credentials.region ?? 'us-east-1').trim(), service: 'ses' },
		);
		return { ...requestOptions, url, baseURL: undefined, body: body || undefined, headers: { ...headers, ...contentType, ...signed } };
	}

	test: ICredentialTestRequest = {
		request: { url: '/v2/email/account', method: 'GET' },
	};
}
