import { existsSync } from 'node:fs';
import path from 'node:path';

import { Client } from 'pg';

import { startTestInstance } from '../harness/instance.ts';
import { dropSchema, ensurePostgres, TEST_PG_URL, uniqueSchema } from '../harness/postgres.ts';
import type { N8nInstance, WorkflowJson } from '../harness/n8n.ts';

/** Webhook (answers with the last node's output) → Retargeting Profile with the given parameters. */
function profileWorkflow(webhookPath: string, parameters: Record<string, unknown>): WorkflowJson {
	return {
		name: `Profile ${webhookPath}`,
		nodes: [
			{
				id: `00000000-0000-4000-8000-${webhookPath.padStart(12, '0').slice(-12).replace(/[^0-9a-f]/g, 'a')}`,
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: `5f0c8a1e-0000-4000-8000-${String(webhookPath.length).padStart(12, '0')}`,
				parameters: { httpMethod: 'POST', path: webhookPath, responseMode: 'lastNode', options: {} },
			},
			{
				id: 'b7e3a0c2-0000-4000-8000-000000000002',
				name: 'Retargeting Profile',
				type: 'n8n-nodes-retargeting.retargetingProfile',
				typeVersion: 1,
				position: [220, 0],
				parameters,
			},
		],
		connections: { Webhook: { main: [[{ node: 'Retargeting Profile', type: 'main', index: 0 }]] } },
	};
}

describe('the Retargeting Profile node in a real n8n, on the embedded store', () => {
	let n8n: N8nInstance & { dispose(): Promise<void> };
	let upsertId: string;
	const pgSchema = uniqueSchema();

	const call = async (webhookPath: string, body: unknown) => {
		const res = await n8n.webhook(webhookPath, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(body),
		});
		return { status: res.status, json: (await res.json()) as Record<string, unknown> };
	};

	beforeAll(async () => {
		n8n = await startTestInstance();
		const byEmail = { lookupBy: 'email', lookupValue: '={{ $json.body.email }}' };
		upsertId = await n8n.publishWorkflow(
			profileWorkflow('profile-upsert', {
				operation: 'upsert',
				email: '={{ $json.body.email }}',
				userId: '={{ $json.body.userId ?? "" }}',
				traits: '={{ JSON.stringify({ first_name: $json.body.first_name }) }}',
				consent_email: 'granted',
			}),
		);
		await n8n.publishWorkflow(profileWorkflow('profile-get', { operation: 'get', ...byEmail }));
		await n8n.publishWorkflow(profileWorkflow('profile-erase', { operation: 'erase', ...byEmail }));
		await n8n.publishWorkflow(
			profileWorkflow('profile-members', {
				resource: 'segment',
				operation: 'getMembers',
				returnAll: true,
				segmentConditions: {
					condition: [
						{ conditionType: 'attribute', attribute: 'trait', traitPath: 'first_name', operator: 'equals', value: '={{ $json.body.first_name }}' },
						{ conditionType: 'consent', channel: 'email', explicit: true },
					],
				},
			}),
		);
		// The same node on the PostgreSQL store, through the package's own credential.
		await ensurePostgres();
		const url = new URL(TEST_PG_URL);
		const pgCredential = await n8n.createCredential('retargetingPostgresApi', 'Store', {
			host: url.hostname,
			port: Number(url.port || 5432),
			database: url.pathname.slice(1),
			user: decodeURIComponent(url.username),
			password: decodeURIComponent(url.password),
			ssl: 'disable',
		});
		const pgWorkflow = profileWorkflow('profile-pg-upsert', {
			store: 'postgres',
			pgSchema,
			operation: 'upsert',
			email: '={{ $json.body.email }}',
			consent_ads: 'withdrawn',
		});
		pgWorkflow.nodes[1].credentials = { retargetingPostgresApi: { id: pgCredential, name: 'Store' } };
		await n8n.publishWorkflow(pgWorkflow);
		for (const p of ['profile-upsert', 'profile-get', 'profile-erase', 'profile-members', 'profile-pg-upsert']) await n8n.waitForWebhook(p);
	}, 300_000);

	afterAll(async () => {
		await n8n?.dispose();
		await dropSchema(pgSchema);
	}, 60_000);

	it('works on the PostgreSQL store too: the profile is in the schema the node names', async () => {
		const created = await call('profile-pg-upsert', { email: 'grace@example.com' });
		expect(created.status).toBe(200);
		expect(created.json).toMatchObject({ email: 'grace@example.com', consent: { ads: false } });
		const client = new Client({ connectionString: TEST_PG_URL });
		await client.connect();
		try {
			const { rows } = await client.query(`SELECT email, consent FROM ${pgSchema}.rt_profiles`);
			expect(rows).toEqual([{ email: 'grace@example.com', consent: { ads: false } }]);
		} finally {
			await client.end();
		}
	});

	it('creates a person, finds them by email, erases them, and then finds nobody', async () => {
		const created = await call('profile-upsert', { email: ' Ada@Example.com ', first_name: 'Ada', userId: 'u-ada' });
		expect(created.status).toBe(200);
		expect(created.json).toMatchObject({ email: 'ada@example.com', userId: 'u-ada', consent: { email: true } });

		const found = await call('profile-get', { email: 'ada@example.com' });
		expect(found.json).toMatchObject({ found: true, traits: { first_name: 'Ada', email: 'Ada@Example.com' } });

		const erased = await call('profile-erase', { email: 'ADA@example.com' });
		expect(erased.json).toMatchObject({ erased: true, deleted: { rt_profiles: 1 } });

		expect((await call('profile-get', { email: 'ada@example.com' })).json).toEqual({
			found: false,
			lookupBy: 'email',
			lookupValue: 'ada@example.com',
		});
	});

	it('lists the members of a segment (resource Segment, Get Members)', async () => {
		await call('profile-upsert', { email: 'linus@example.com', first_name: 'Linus' });
		const members = await call('profile-members', { first_name: 'linus' });
		expect(members.status).toBe(200);
		expect(members.json).toMatchObject({ email: 'linus@example.com', segment: { facts: { 'traits.first_name': 'Linus', 'email consent': true } } });
	});

	it('keeps the embedded store in a file under n8n\'s user folder', () => {
		expect(existsSync(path.join(n8n.userFolder, '.n8n', 'retargeting', 'store.sqlite'))).toBe(true);
	});

	it('fails an item without any ID with an error that says what to fill in', async () => {
		await call('profile-upsert', { first_name: 'Nobody' });
		const executions = await n8n.waitForExecutions(upsertId, 2);
		const failed = executions.find((e) => e.status === 'error');
		expect(failed?.data?.resultData.error?.message).toBe('Give at least one of User ID, Email and Anonymous ID');
	});
});
