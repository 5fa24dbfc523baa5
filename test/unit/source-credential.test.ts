import type { IWebhookFunctions } from 'n8n-workflow';

import { CREDENTIAL_CACHE_MS, sourceCredential } from '../../nodes/TrackingTrigger/sourceCredential.ts';

function context(id: string | undefined, keys: string[]): IWebhookFunctions & { reads: number } {
	const ctx = {
		reads: 0,
		getNode: () => ({ credentials: id ? { retargetingTrackingApi: { id, name: 'source' } } : undefined }),
		getCredentials: async () => ({ writeKey: keys[Math.min(ctx.reads++, keys.length - 1)] }),
	};
	return ctx as unknown as IWebhookFunctions & { reads: number };
}

describe("the tracking source's credential", () => {
	it('is read once per credential within the cache time, and again after it', async () => {
		const ctx = context('cred-1', ['first-key-0123456', 'rotated-key-0123456']);
		expect((await sourceCredential(ctx, 1_000)).writeKey).toBe('first-key-0123456');
		expect((await sourceCredential(ctx, 1_000 + CREDENTIAL_CACHE_MS - 1)).writeKey).toBe('first-key-0123456');
		expect(ctx.reads).toBe(1);
		expect((await sourceCredential(ctx, 1_000 + CREDENTIAL_CACHE_MS)).writeKey).toBe('rotated-key-0123456');
		expect(ctx.reads).toBe(2);
	});

	it('is kept apart per credential id', async () => {
		const a = context('cred-a', ['key-a-0123456789']);
		const b = context('cred-b', ['key-b-0123456789']);
		expect((await sourceCredential(a, 5)).writeKey).toBe('key-a-0123456789');
		expect((await sourceCredential(b, 5)).writeKey).toBe('key-b-0123456789');
	});
});
