import {
	NodeOperationError,
	type ICredentialDataDecryptedObject,
	type ICredentialsDecrypted,
	type ICredentialTestFunctions,
	type INodeCredentialTestResult,
	type IExecuteFunctions,
	type INodeProperties,
	type IPollFunctions,
	type IWebhookFunctions,
} from 'n8n-workflow';

import { openEmbeddedStore, openInstanceStore, openPostgresStore, pingPostgres, StoreSetupError } from '../store/open';
import type { RetargetingStore } from '../store/store';

/** The "Store" choice every node that reads or writes retargeting data shows. */
export const storeProperties: INodeProperties[] = [
	{
		displayName: 'Store',
		name: 'store',
		type: 'options',
		options: [
			{
				name: 'Instance Default',
				value: 'default',
				description: "PostgreSQL when the n8n processes have RETARGETING_STORE_URL set (as queue mode needs), else the embedded store",
			},
			{
				name: 'Embedded (SQLite)',
				value: 'embedded',
				description: "A file beside n8n's own data. Right for a single n8n; nothing to set up. Refused in queue mode.",
			},
			{
				name: 'PostgreSQL (Credential)',
				value: 'postgres',
				description: 'A PostgreSQL database of its own, given by a credential, for this node only',
			},
		],
		default: 'default',
		description: 'Where events, profiles, carts and sends are kept. Leave it on Instance Default: one setting for the whole n8n (RETARGETING_STORE_URL) then moves every node at once.',
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

/**
 * The store a node's parameters select, in an execution, a webhook call or a poll. A store that
 * cannot be opened fails the node; a setting that keeps it from opening (the embedded store in
 * queue mode) says the fix, and triggers answer with it (isStoreSetupError).
 */
export async function storeFor(ctx: IExecuteFunctions | IWebhookFunctions | IPollFunctions): Promise<RetargetingStore> {
	try {
		return await selectedStore(ctx);
	} catch (error) {
		const setup = error instanceof StoreSetupError;
		throw new NodeOperationError(ctx.getNode(), error as Error, setup ? { description: 'Nothing was written. See "Running at scale" in the README.' } : {});
	}
}

/** Whether the store failed to open for a setting the user must change (its message says which). */
export function isStoreSetupError(error: unknown): boolean {
	return error instanceof Error && (error instanceof StoreSetupError || error.cause instanceof StoreSetupError);
}

async function selectedStore(ctx: IExecuteFunctions | IWebhookFunctions | IPollFunctions): Promise<RetargetingStore> {
	// Node-level parameters: an execution reads them for item 0; webhook calls and polls have no items.
	const parameter = (name: string, fallback: string) =>
		'getInputData' in ctx ? ctx.getNodeParameter(name, 0, fallback) : ctx.getNodeParameter(name, fallback);
	const choice = parameter('store', 'default');
	if (choice === 'default') return (await openInstanceStore()) ?? (await openEmbeddedStore());
	if (choice !== 'postgres') return await openEmbeddedStore();
	const c = await ctx.getCredentials<ICredentialDataDecryptedObject>('retargetingPostgresApi');
	return await openPostgresStore(postgresConnection(c, String(parameter('pgSchema', 'retargeting'))));
}
