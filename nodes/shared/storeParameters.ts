import type {
	ICredentialDataDecryptedObject,
	IExecuteFunctions,
	INodeCredentialDescription,
	INodeProperties,
} from 'n8n-workflow';

import { openEmbeddedStore, openPostgresStore } from './store/open';
import type { RetargetingStore } from './store/store';

/** The "Store" choice every node that reads or writes retargeting data shows. */
export const storeProperties: INodeProperties[] = [
	{
		displayName: 'Store',
		name: 'store',
		type: 'options',
		options: [
			{
				name: 'Embedded (SQLite)',
				value: 'embedded',
				description: "A file beside n8n's own data. Right for a single n8n; nothing to set up.",
			},
			{
				name: 'PostgreSQL',
				value: 'postgres',
				description: 'A PostgreSQL database, needed when n8n runs in queue mode with several workers',
			},
		],
		default: 'embedded',
		description: 'Where events, profiles, carts and sends are kept. Every retargeting node of a flow must use the same store.',
	},
	{
		displayName: 'Schema',
		name: 'pgSchema',
		type: 'string',
		default: 'retargeting',
		displayOptions: { show: { store: ['postgres'] } },
		description: 'The PostgreSQL schema for the retargeting tables, created if missing. Lower-case letters, digits and underscores.',
	},
];

/** n8n's own PostgreSQL credential, so users reuse the connection they already configured. */
export const storeCredentials: INodeCredentialDescription[] = [
	{ name: 'postgres', required: true, displayOptions: { show: { store: ['postgres'] } } },
];

export async function storeFor(ctx: IExecuteFunctions): Promise<RetargetingStore> {
	if (ctx.getNodeParameter('store', 0) !== 'postgres') return await openEmbeddedStore();
	const c = await ctx.getCredentials<ICredentialDataDecryptedObject>('postgres');
	return await openPostgresStore({
		host: String(c.host),
		port: Number(c.port ?? 5432),
		database: String(c.database),
		user: String(c.user),
		password: String(c.password ?? ''),
		ssl: (c.ssl as 'disable' | 'allow' | 'require' | undefined) ?? 'disable',
		allowUnauthorizedCerts: c.allowUnauthorizedCerts === true,
		schema: String(ctx.getNodeParameter('pgSchema', 0, 'retargeting')),
	});
}
