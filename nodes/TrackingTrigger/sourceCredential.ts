import type { IWebhookFunctions } from 'n8n-workflow';

export interface SourceCredential {
	writeKey: string;
	hmacSecret?: string;
	allowedOrigins?: string;
}

/** How long a source's credential is reused: an edited or deleted credential applies after this. */
export const CREDENTIAL_CACHE_MS = 10_000;

const cache = new Map<string, { at: number; value: Promise<SourceCredential> }>();

/**
 * The tracking source's credential for a request. n8n reads and decrypts a credential from its
 * database on every getCredentials call, which cost more than all the rest of a one-event request
 * in the ingest benchmark; every request needs it to check the write key, so it is kept for
 * CREDENTIAL_CACHE_MS per credential id.
 */
export async function sourceCredential(ctx: IWebhookFunctions, now = Date.now()): Promise<SourceCredential> {
	const id = ctx.getNode().credentials?.retargetingTrackingApi?.id;
	if (!id) return await ctx.getCredentials<SourceCredential>('retargetingTrackingApi');
	const hit = cache.get(id);
	if (hit && now - hit.at < CREDENTIAL_CACHE_MS) return await hit.value;
	const value = ctx.getCredentials<SourceCredential>('retargetingTrackingApi');
	const entry = { at: now, value };
	cache.set(id, entry);
	value.catch(() => {
		if (cache.get(id) === entry) cache.delete(id);
	});
	return await value;
}
