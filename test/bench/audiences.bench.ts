/**
 * `npm run bench` (audience part): the Banner Partner Push engine on 100,000 people with ad consent
 * in a SQLite store, against each partner's local stand-in: people/s pushed and calls per 100,000
 * people (each must be ceil(100,000 / the partner's batch limit); the bench fails otherwise), then
 * a sync of the same unchanged audience, which must make no call. n8n has no built-in node for
 * partner audiences; its built-in way is the HTTP Request node (v4.5), one call an item, the
 * identifier hashed by an expression (`$json.email.toLowerCase().hash('sha256')`), measured on
 * BENCH_AUDIENCE_HTTP_ITEMS people (2,000) against the same Meta stand-in, in-process by n8n-core,
 * against the engine's Meta push of the same people as the ratio. The engine's figure does less
 * n8n work (no per-item expression) and more store work (profiles read, memberships written).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { AudienceStandIn, type StandInPartner } from '../harness/audience-stand-in.ts';
import { fetchCall } from '../harness/fetch-call.ts';
import { repoRoot } from '../harness/paths.ts';
import { loadN8nNodeType, runNode } from '../harness/run-node.ts';

const PEOPLE = Number(process.env.BENCH_AUDIENCE_PEOPLE ?? 100_000);
const HTTP_ITEMS = Number(process.env.BENCH_AUDIENCE_HTTP_ITEMS ?? 2_000);
const load = createRequire(path.join(repoRoot(), 'package.json'));
const { SqliteDriver } = load('./dist/nodes/shared/store/sqlite-driver.js') as typeof import('../../nodes/shared/store/sqlite-driver.ts');
const { RetargetingStore } = load('./dist/nodes/shared/store/store.js') as typeof import('../../nodes/shared/store/store.ts');
const { insertRows } = load('./dist/nodes/shared/store/sql.js') as typeof import('../../nodes/shared/store/sql.ts');
const { PARTNERS } = load('./dist/nodes/shared/audiences/partners.js') as typeof import('../../nodes/shared/audiences/partners.ts');
const { pushAudience } = load('./dist/nodes/shared/audiences/push.js') as typeof import('../../nodes/shared/audiences/push.ts');

async function main(): Promise<void> {
	const dir = mkdtempSync(path.join(tmpdir(), 'rt-audiences-'));
	const store = new RetargetingStore(new SqliteDriver(path.join(dir, 'store.sqlite')));
	const fmt = (n: number) => Math.round(n).toLocaleString('en');
	const lines = [`audiences: ${fmt(PEOPLE)} people with ad consent, SQLite store, local stand-ins`];
	try {
		await store.migrate();
		const now = new Date().toISOString();
		await store.driver.transaction(async (tx) => {
			const rows = Array.from({ length: PEOPLE }, (_, i) => [`p-${i}`, `u-${i}`, `p${i}@example.com`, '{"first_name":"Ada"}', '{"ads":true}', 0, now, now]);
			for (let i = 0; i < rows.length; i += 2000) await insertRows(tx, 'INSERT INTO rt_profiles (id, user_id, email, traits, consent, suppressed, first_seen, last_seen)', rows.slice(i, i + 2000));
		});
		const inputs = Array.from({ length: PEOPLE }, (_, i) => ({ person: { kind: 'profileId' as const, value: `p-${i}` } }));
		for (const name of Object.keys(PARTNERS) as Array<keyof typeof PARTNERS>) {
			const standIn = new AudienceStandIn(name as StandInPartner);
			const base = await standIn.start();
			try {
				const http = fetchCall(() => base, standIn.authHeaders());
				const settings = (operation: 'add' | 'sync') => ({ partnerKey: name, partner: PARTNERS[name], operation, target: { audienceId: 'bench', accountId: 'acc' }, requireExplicitConsent: true });
				const t0 = performance.now();
				const added = await pushAudience(store.driver, http, inputs, settings('add'));
				const ms = performance.now() - t0;
				const expected = Math.ceil(PEOPLE / PARTNERS[name].maxBatch);
				const sent = added.outcomes.filter((o) => o.status === 'added').length;
				if (added.calls !== expected || sent !== PEOPLE || standIn.shapeErrors.length) {
					throw new Error(`${name}: ${sent} added in ${added.calls} calls (expected ${PEOPLE} in ${expected}); ${standIn.shapeErrors.slice(0, 2).join('; ')}`);
				}
				const before = standIn.requests.length;
				const t1 = performance.now();
				const synced = await pushAudience(store.driver, http, inputs, settings('sync'));
				const syncMs = performance.now() - t1;
				if (synced.calls !== 0 || standIn.requests.length !== before) throw new Error(`${name}: a sync of the unchanged audience made ${synced.calls} calls`);
				lines.push(`  ${PARTNERS[name].name.padEnd(8)} ${fmt(added.calls).padStart(3)} calls (ceil(${fmt(PEOPLE)} / ${fmt(PARTNERS[name].maxBatch)})), ${fmt(PEOPLE / (ms / 1000))} people/s; sync of the unchanged audience: 0 calls in ${fmt(syncMs)} ms`);
				if (name === 'meta') {
					const httpRequest = await loadN8nNodeType('HttpRequest');
					const items = Array.from({ length: HTTP_ITEMS }, (_, i) => ({ json: { email: `p${i}@example.com` } }));
					const t2 = performance.now();
					await runNode({
						nodeType: httpRequest,
						typeVersion: 4.5,
						parameters: {
							method: 'POST',
							url: `${base}/n8n-http/users`,
							sendHeaders: true,
							headerParameters: { parameters: [{ name: 'Authorization', value: `Bearer ${standIn.token}` }] },
							sendBody: true,
							specifyBody: 'json',
							jsonBody: '={{ JSON.stringify({ payload: { schema: ["EMAIL"], data: [[ $json.email.toLowerCase().hash("sha256") ]] } }) }}',
							options: {},
						},
						items,
						expressionEngine: 'legacy',
					});
					const httpMs = performance.now() - t2;
					const stored = standIn.members('n8n-http').size;
					if (stored !== HTTP_ITEMS || standIn.shapeErrors.length) throw new Error(`n8n's HTTP Request node: ${stored} of ${HTTP_ITEMS} added; ${standIn.shapeErrors.slice(0, 2).join('; ')}`);
					const ours = PEOPLE / (ms / 1000);
					const theirs = HTTP_ITEMS / (httpMs / 1000);
					lines.push(`  Meta vs n8n's HTTP Request node (one call an item, ${fmt(HTTP_ITEMS)} people): ${fmt(ours)} vs ${fmt(theirs)} people/s, ratio ${(ours / theirs).toFixed(1)}x; calls per 100,000 people: 10 vs 100,000`);
				}
			} finally {
				await standIn.stop();
			}
		}
	} finally {
		await store.close();
		rmSync(dir, { recursive: true, force: true });
	}
	process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
	process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
	process.exitCode = 1;
});
