import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The PostgreSQL server of the retargeting store. The package has its own credential type: community
 * nodes may not use credentials of other packages, n8n's own `postgres` included.
 */
export class RetargetingPostgresApi implements ICredentialType {
	name = 'retargetingPostgresApi';

	displayName = 'Retargeting PostgreSQL Store API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://github.com/n8n-nodes-retargeting/n8n-nodes-retargeting/blob/main/docs/store.md#the-postgresql-store-credential';

	properties: INodeProperties[] = [
		{ displayName: 'Host', name: 'host', type: 'string', default: 'localhost', required: true },
		{ displayName: 'Port', name: 'port', type: 'number', default: 5432 },
		{ displayName: 'Database', name: 'database', type: 'string', default: 'postgres', required: true },
		{ displayName: 'User', name: 'user', type: 'string', default: 'postgres', required: true },
		{ displayName: 'Password', name: 'password', type: 'string', typeOptions: { password: true }, default: '' },
		{
			displayName: 'SSL',
			name: 'ssl',
			type: 'options',
			options: [
				{ name: 'Disable', value: 'disable' },
				{ name: 'Allow', value: 'allow' },
				{ name: 'Require', value: 'require' },
			],
			default: 'disable',
		},
		{
			displayName: 'Ignore SSL Issues (Insecure)',
			name: 'ignoreSslIssues',
			type: 'boolean',
			default: false,
			displayOptions: { show: { ssl: ['allow', 'require'] } },
			description: 'Whether to connect even if the server certificate cannot be verified',
		},
	];
}
