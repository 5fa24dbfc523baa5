import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { INodeExecutionData, INodeParameters } from 'n8n-workflow';

import type { IncomingHttpHeaders } from 'node:http';

import { RetargetingHttpPartnerApi } from '../../credentials/RetargetingHttpPartnerApi.credentials.ts';
import { RetargetingMetaAdsApi } from '../../credentials/RetargetingMetaAdsApi.credentials.ts';
import { RetargetingTikTokAdsApi } from '../../credentials/RetargetingTikTokAdsApi.credentials.ts';
import { BannerPartnerPush } from '../../nodes/BannerPartnerPush/BannerPartnerPush.node.ts';
import { sha256Hex } from '../../nodes/shared/audiences/identifiers.ts';
import { openEmbeddedStore } from '../../nodes/shared/store/open.ts';
import { AudienceStandIn } from '../harness/audience-stand-in.ts';
import { eventAt } from '../harness/events.ts';
import { runNodeTask } from '../harness/run-node.ts';
import { StandIn, type StandInAnswer } from '../harness/stand-in.ts';

/** A partner of one's own: takes any JSON, answers 200 when the key header is right. */
class OwnPartner extends StandIn {
	readonly calls: Array<{ method: string; url: string; key: unknown; body: unknown }> = [];
	protected answer(method: string, url: string, headers: IncomingHttpHeaders, body: unknown): StandInAnswer {
		this.calls.push({ method, url, key: headers['x-partner-key'], body });
		return headers['x-partner-key'] === 'k-1' ? { status: 200, body: { ok: true } } : { status: 401, body: { message: 'bad key' } };
	}
}

/** Banner Partner Push run by n8n-core in-process, its requests authenticated by our credential types. */
describe('the Banner Partner Push node, run by n8n-core', () => {
	const dir = mkdtempSync(path.join(tmpdir(), 'rt-banner-node-'));
	process.env.RETARGETING_SQLITE_FILE = path.join(dir, 'store.sqlite');
	const meta = new AudienceStandIn('meta');
	const tiktok = new AudienceStandIn('tiktok');
	let metaUrl: string;
	let tiktokUrl: string;

	beforeAll(async () => {
		metaUrl = await meta.start();
		tiktokUrl = await tiktok.start();
		const store = await openEmbeddedStore();
		const now = Date.now();
		await store.appendEvents([
			eventAt(now, { type: 'identify', userId: 'ada', traits: { email: 'Ada@Example.com', first_name: 'Ada' }, context: { consent: { ads: true } } }),
			eventAt(now, { type: 'identify', userId: 'bo', traits: { email: 'bo@example.com' }, context: { consent: { ads: false } } }),
			eventAt(now, { type: 'identify', userId: 'cy', traits: { email: 'cy@example.com' }, context: { consent: { ads: true } } }),
		]);
	});

	afterAll(async () => {
		await meta.stop();
		await tiktok.stop();
		rmSync(dir, { recursive: true, force: true });
	});

	const run = (parameters: Record<string, unknown>, items: INodeExecutionData[], continueOnFail = false) =>
		runNodeTask({
			nodeType: new BannerPartnerPush(),
			parameters: { personIdKind: 'userId', personField: 'userId', ...parameters } as INodeParameters,
			items,
			continueOnFail,
			credentials: { retargetingMetaAdsApi: { accessToken: meta.token, apiUrl: metaUrl }, retargetingTikTokAdsApi: { accessToken: tiktok.token, apiUrl: tiktokUrl } },
			credentialTypes: { retargetingMetaAdsApi: new RetargetingMetaAdsApi(), retargetingTikTokAdsApi: new RetargetingTikTokAdsApi() },
		});
	const people = (...ids: string[]) => ids.map((userId) => ({ json: { userId } }));

	it('adds the people with ad consent to a Meta audience, reports the others, pairs each item', async () => {
		const { outputs } = await run({ partner: 'meta', operation: 'add', audienceId: 'viewers' }, people('ada', 'bo', 'nobody'));
		expect(outputs[0].map((i) => [(i.json.push as { status: string }).status, (i.json.push as { reason?: string }).reason])).toEqual([
			['added', undefined],
			['skipped', 'no ad consent given'],
			['skipped', 'this person is not in the store'],
		]);
		expect(outputs[0].map((i) => (i.pairedItem as { item: number }).item)).toEqual([0, 1, 2]);
		expect([...meta.members('viewers')]).toEqual([sha256Hex('ada@example.com')]);
		expect(meta.shapeErrors).toEqual([]);
	});

	it('sync: an unchanged audience makes no call; a person no longer among the items is removed and reported', async () => {
		await run({ partner: 'tiktok', operation: 'sync', audienceId: 'aud-7', accountId: 'adv-1' }, people('ada', 'cy'));
		const calls = tiktok.requests.length;
		const same = await run({ partner: 'tiktok', operation: 'sync', audienceId: 'aud-7', accountId: 'adv-1' }, people('ada', 'cy'));
		expect(tiktok.requests.length).toBe(calls);
		expect(same.outputs[0].map((i) => (i.json.push as { status: string }).status)).toEqual(['unchanged', 'unchanged']);
		const fewer = await run({ partner: 'tiktok', operation: 'sync', audienceId: 'aud-7', accountId: 'adv-1' }, people('ada'));
		expect(fewer.outputs[0].map((i) => i.json)).toEqual([
			expect.objectContaining({ userId: 'ada', push: expect.objectContaining({ status: 'unchanged' }) }),
			expect.objectContaining({ profileId: expect.any(String), push: expect.objectContaining({ status: 'removed', reason: 'no longer among the items (sync)' }) }),
		]);
		expect([...tiktok.members('aud-7')]).toEqual([sha256Hex('ada@example.com')]);
		expect(tiktok.shapeErrors).toEqual([]);
	});

	it('names what to fix: an empty audience ID, a missing account ID, a refused token', async () => {
		// Left empty, n8n itself names the required field; an expression that gives nothing reaches the node's own check.
		await expect(run({ partner: 'meta', operation: 'add', audienceId: '' }, people('ada'))).rejects.toThrow('Parameter "Audience ID" is required');
		await expect(run({ partner: 'meta', operation: 'add', audienceId: '={{ $json.audience }}' }, people('ada'))).rejects.toThrow('Audience ID: must not be empty');
		await expect(run({ partner: 'tiktok', operation: 'add', audienceId: 'a', accountId: '={{ $json.advertiser }}' }, people('ada'))).rejects.toThrow('Account ID: must not be empty');
		const broken = runNodeTask({
			nodeType: new BannerPartnerPush(),
			parameters: { personIdKind: 'userId', personField: 'userId', partner: 'meta', operation: 'add', audienceId: 'x' } as INodeParameters,
			items: people('cy'),
			credentials: { retargetingMetaAdsApi: { accessToken: 'wrong', apiUrl: metaUrl } },
			credentialTypes: { retargetingMetaAdsApi: new RetargetingMetaAdsApi() },
		});
		await expect(broken).rejects.toThrow('Meta cannot be used: Meta 401: Invalid access token. Check the credential and its access to the audience.');
	});

	it('sends to an HTTP partner of your own: its paths, body template, hashing and key header', async () => {
		const own = new OwnPartner();
		const url = await own.start();
		try {
			const { outputs } = await runNodeTask({
				nodeType: new BannerPartnerPush(),
				parameters: {
					personIdKind: 'userId',
					personField: 'userId',
					partner: 'http',
					operation: 'add',
					audienceId: 'loyal',
					addPath: '/v2/lists/add',
					httpMethod: 'PUT',
					bodyTemplate: '{"list": "{audience_id}", "hashes": {identifiers}}',
				} as INodeParameters,
				items: people('ada', 'cy'),
				credentials: { retargetingHttpPartnerApi: { baseUrl: url, headerName: 'X-Partner-Key', secret: 'k-1' } },
				credentialTypes: { retargetingHttpPartnerApi: new RetargetingHttpPartnerApi() },
			});
			expect(outputs[0].map((i) => (i.json.push as { status: string }).status)).toEqual(['added', 'added']);
			expect(own.calls).toEqual([{ method: 'PUT', url: '/v2/lists/add', key: 'k-1', body: { list: 'loyal', hashes: [sha256Hex('ada@example.com'), sha256Hex('cy@example.com')] } }]);
			await expect(
				runNodeTask({
					nodeType: new BannerPartnerPush(),
					parameters: { personIdKind: 'userId', personField: 'userId', partner: 'http', operation: 'add', audienceId: 'x', bodyTemplate: '{"hashes": []}' } as INodeParameters,
					items: people('ada'),
					credentials: { retargetingHttpPartnerApi: { baseUrl: url, headerName: 'X-Partner-Key', secret: 'k-1' } },
					credentialTypes: { retargetingHttpPartnerApi: new RetargetingHttpPartnerApi() },
				}),
			).rejects.toThrow('Body Template: put {identifiers} where the list of people goes');
		} finally {
			await own.stop();
		}
	});
});
