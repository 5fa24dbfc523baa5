import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
	IExecuteFunctions,
	INodeProperties,
	IPollFunctions,
	IWebhookFunctions,
} from 'n8n-workflow';

import { openEmbeddedStore, openPostgresStore, pingPostgres } from './store/open';
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

/** The credential test of the PostgreSQL store, shared by every node that offers it (testedBy). */
export async function checkPostgresStore(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	try {
		await pingPostgres(postgresConnection(credential.data ?? {}, 'retargeting'));
		return { status: 'OK', message: 'Connected to the PostgreSQL store' };
	} catch (error) {
		return { status: 'Error', message: `Could not reach the PostgreSQL store: ${(error as Error).message}` };
	}
}

function postgresConnection(c: ICredentialDataDecryptedObject, schema: string) {
	return {
		host: String(c.host),
		port: Number(c.port ?? 5432),
		database: String(c.database),
		user: String(c.user),
		password: String(c.password ?? ''),
		ssl: (c.ssl as 'disable' | 'allow' | 'require' | undefined) ?? 'disable',
		allowUnauthorizedCerts: c.ignoreSslIssues === true,
		schema,
	};
}

/** The store a node's parameters select, in an execution, a webhook call or a poll. */
export async function storeFor(ctx: IExecuteFunctions | IWebhookFunctions | IPollFunctions): Promise<RetargetingStore> {
	// Node-level parameters: an execution reads them for item 0; webhook calls and polls have no items.
	const parameter = (name: string, fallback: string) =>
		'getInputData' in ctx ? ctx.getNodeParameter(name, 0, fallback) : ctx.getNodeParameter(name, fallback);
	if (parameter('store', 'embedded') !== 'postgres') return await openEmbeddedStore();
	const c = await ctx.getCredentials<ICredentialDataDecryptedObject>('retargetingPostgresApi');
	return await openPostgresStore(postgresConnection(c, String(parameter('pgSchema', 'retargeting'))));
}
