import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * An SMTP server for ESP Send. The package has its own credential type: community nodes may not
 * use credentials of other packages, n8n's own `smtp` included.
 */
export class RetargetingSmtpApi implements ICredentialType {
	name = 'retargetingSmtpApi';

	displayName = 'Retargeting SMTP API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://github.com/n8n-nodes-retargeting/n8n-nodes-retargeting/blob/main/docs/nodes/esp-send.md#smtp';

	properties: INodeProperties[] = [
		{ displayName: 'Host', name: 'host', type: 'string', default: '', placeholder: 'smtp.example.com', required: true },
		{ displayName: 'Port', name: 'port', type: 'number', default: 587, description: '587 for STARTTLS, 465 for SSL/TLS, 25 between servers' },
		{
			displayName: 'SSL/TLS',
			name: 'secure',
			type: 'boolean',
			default: false,
			description: 'Whether to use TLS from the start (port 465). Off: STARTTLS is used when the server offers it.',
		},
		{ displayName: 'User', name: 'user', type: 'string', default: '' },
		{ displayName: 'Password', name: 'password', type: 'string', typeOptions: { password: true }, default: '' },
		{
			displayName: 'Ignore SSL Issues (Insecure)',
			name: 'ignoreSslIssues',
			type: 'boolean',
			default: false,
			description: 'Whether to connect even if the server certificate cannot be verified',
		},
	];
}
