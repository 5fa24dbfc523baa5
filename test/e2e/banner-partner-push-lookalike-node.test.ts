import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { INodeExecutionData, INodeParameters, INodeProperties } from 'n8n-workflow';

import { RetargetingMetaAdsApi } from '../../credentials/RetargetingMetaAdsApi.credentials.ts';
import { RetargetingTikTokAdsApi } from '../../credentials/RetargetingTikTokAdsApi.credentials.ts';
import { BannerPartnerPush } from '../../nodes/BannerPartnerPush/BannerPartnerPush.node.ts';
import { openEmbeddedStore } from '../../nodes/shared/store/open.ts';
import { AudienceStandIn } from '../harness/audience-stand-in.ts';
import { eventAt } from '../harness/events.ts';
import { runNodeTask } from '../harness/run-node.ts';

/** Create Lookalike run by n8n-core in-process: seeds filled by the node itself, then lookalikes of them. */
describe('the Banner Partner Push node creates lookalikes, run by n8n-core', () => {
	const dir = mkdtempSync(path.join(tmpdir(), 'rt-lookalike-node-'));
	process.env.RETARGETING_SQLITE_FILE = path.join(dir, 'store.sqlite');
	const meta = new AudienceStandIn('meta');
	const tiktok = new AudienceStandIn('tiktok');
	let metaUrl: string;
	let tiktokUrl: string;

	const run = (parameters: Record<string, unknown>, items: INodeExecutionData[], continueOnFail = false) =>
		runNodeTask({
			nodeType: new BannerPartnerPush(),
			parameters: { personIdKind: 'userId', personField: 'userId', ...parameters } as INodeParameters,
			items,
			continueOnFail,
			credentials: { retargetingMetaAdsApi: { accessToken: meta.token, apiUrl: metaUrl }, retargetingTikTokAdsApi: { accessToken: tiktok.token, apiUrl: tiktokUrl } },
			credentialTypes: { retargetingMetaAdsApi: new RetargetingMetaAdsApi(), retargetingTikTokAdsApi: new RetargetingTikTokAdsApi() },
		});
	const buyers = (n: number) => Array.from({ length: n }, (_, i) => ({ json: { userId: `buyer-${i}` } }));

	beforeAll(async () => {
		metaUrl = await meta.start();
		tiktokUrl = await tiktok.start();
		const store = await openEmbeddedStore();
		const now = Date.now();
		await store.appendEvents(buyers(120).map(({ json }) => eventAt(now, { type: 'identify', userId: json.userId, traits: { email: `${json.userId}@example.com` }, context: { consent: { ads: true } } })));
		// The seeds, filled as a user would: 120 best customers on each partner, and a list of 3.
		await run({ partner: 'meta', operation: 'add', audienceId: '23850000000000001' }, buyers(120));
		await run({ partner: 'meta', operation: 'add', audienceId: '23850000000000002' }, buyers(3));
		await run({ partner: 'tiktok', operation: 'add', audienceId: '1800000001', accountId: '7000000000000000001' }, buyers(120));
		meta.requests.length = 0;
		tiktok.requests.length = 0;
	});

	afterAll(async () => {
		await meta.stop();
		await tiktok.stop();
		rmSync(dir, { recursive: true, force: true });
	});

	const metaLookalike = { partner: 'meta', operation: 'createLookalike', adAccountId: 'act_1234567890', seedAudienceId: '23850000000000001', lookalikeName: 'Best customers FR 2%', lookalikePercent: 2, lookalikeCountry: 'fr' };

	it('Meta: one lookalike an item, with its ID, name, seed, size and Meta\'s answer', async () => {
		const { outputs } = await run(metaLookalike, [{ json: {} }]);
		expect(outputs[0].map((i) => i.json)).toEqual([
			{
				partner: 'meta',
				status: 'created',
				lookalikeId: '2385000001',
				name: 'Best customers FR 2%',
				seedAudienceId: '23850000000000001',
				seedPeople: 120,
				size: '2 %',
				country: 'FR',
				answer: { id: '2385000001' },
				calls: 1,
			},
		]);
		expect(meta.requests.map((r) => [r.url, r.body])).toEqual([
			['/act_1234567890/customaudiences', { name: 'Best customers FR 2%', subtype: 'LOOKALIKE', origin_audience_id: '23850000000000001', lookalike_spec: '{"ratio":0.02,"country":"FR"}' }],
		]);
		expect(meta.shapeErrors).toEqual([]);
	});

	it("a seed below the minimum fails its item with the reason and no call; Meta's refusal (#2654) with Meta's words", async () => {
		const calls = meta.requests.length;
		const items = [{ json: { seed: '23850000000000002', name: 'Few' } }, { json: { seed: '23850000000000001', name: 'Best customers FR 2%' } }];
		const perItem = { ...metaLookalike, seedAudienceId: '={{ $json.seed }}', lookalikeName: '={{ $json.name }}' };
		await expect(run(perItem, items)).rejects.toThrow('the seed audience 23850000000000002 has 3 people the package added; Meta needs at least 100 from one country');
		expect(meta.requests.length).toBe(calls);
		const { outputs } = await run(perItem, items, true);
		expect(outputs[0].map((i) => [i.json.status, i.json.error, (i.pairedItem as { item: number }).item])).toEqual([
			['notSent', 'the seed audience 23850000000000002 has 3 people the package added; Meta needs at least 100 from one country', 0],
			['failed', 'Meta did not create the lookalike: Meta 400: Invalid parameter: A lookalike audience with this source, country and size already exists. (code 2654, subcode 1713007)', 1],
		]);
		expect(outputs[0][1].json.answer).toEqual({ error: expect.objectContaining({ code: 2654 }) });
		expect(meta.requests.length).toBe(calls + 1);
	});

	it('TikTok: the advertiser, size, locations and options as TikTok documents them; a 429 is retried', async () => {
		tiktok.failNext.push({ status: 429, headers: { 'retry-after': '0' } });
		const { outputs } = await run(
			{
				partner: 'tiktok',
				operation: 'createLookalike',
				accountId: '7000000000000000001',
				seedAudienceId: '1800000001',
				lookalikeName: 'Best customers US broad',
				lookalikeSize: 'BROAD',
				lookalikeLocationIds: '6252001, 6251999',
				lookalikeOptions: { includeSource: true, mobileOs: 'IOS', placements: ['TikTok', 'Pangle'] },
			},
			[{ json: {} }],
		);
		expect(outputs[0][0].json).toMatchObject({ partner: 'tiktok', status: 'created', lookalikeId: '7000001', size: 'BROAD', locationIds: ['6252001', '6251999'], seedPeople: 120, calls: 2 });
		expect(tiktok.requests.map((r) => r.body)).toEqual(
			Array(2).fill({
				advertiser_id: '7000000000000000001',
				custom_audience_name: 'Best customers US broad',
				lookalike_spec: { source_audience_id: '1800000001', audience_size: 'BROAD', location_ids: ['6252001', '6251999'], include_source: true, mobile_os: 'IOS', placements: ['TikTok', 'Pangle'] },
			}),
		);
		expect(tiktok.shapeErrors).toEqual([]);
	});

	it('names the parameter TikTok or Meta cannot take, before any call', async () => {
		const calls = tiktok.requests.length + meta.requests.length;
		const tiktokLookalike = { partner: 'tiktok', operation: 'createLookalike', accountId: '7000000000000000001', seedAudienceId: '1800000001', lookalikeLocationIds: '6252001' };
		await expect(run({ ...tiktokLookalike, lookalikeName: 'n'.repeat(129) }, [{ json: {} }])).rejects.toThrow('Lookalike Name: 129 characters; TikTok takes at most 128');
		await expect(run({ ...tiktokLookalike, lookalikeName: 'x', lookalikeLocationIds: 'France' }, [{ json: {} }])).rejects.toThrow('Location IDs: "France" is not a TikTok location ID (digits, such as 6252001)');
		await expect(run({ ...metaLookalike, lookalikeCountry: 'France' }, [{ json: {} }])).rejects.toThrow('Country: "France" is not a two-letter country code such as FR');
		await expect(run({ ...metaLookalike, lookalikeOptions: { startingPercent: 2 } }, [{ json: {} }])).rejects.toThrow('Starting Size (%): 2 must be a whole number below the size (2)');
		expect(tiktok.requests.length + meta.requests.length).toBe(calls);
	});

	it('is offered for Meta and TikTok only', () => {
		const operations = new BannerPartnerPush().description.properties.filter((p) => p.name === 'operation');
		const offered = (partner: string) =>
			operations
				.filter((p) => (p.displayOptions?.show?.partner ?? ['criteo', 'google', 'http', 'linkedin', 'meta', 'tiktok']).includes(partner) && !(p.displayOptions?.hide?.partner ?? []).includes(partner))
				.flatMap((p) => (p.options as INodeProperties['options'] as Array<{ value: string }>).map((o) => o.value));
		for (const partner of ['meta', 'tiktok']) expect(offered(partner)).toContain('createLookalike');
		for (const partner of ['criteo', 'google', 'http', 'linkedin']) expect([partner, offered(partner)]).toEqual([partner, ['add', 'consentCascade', 'burn', 'remove', 'sync']]);
	});
});
