import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { startTestInstance } from '../harness/instance.ts';
import type { Execution, N8nInstance, WorkflowJson } from '../harness/n8n.ts';
import { repoRoot } from '../harness/paths.ts';
import { decoded, TestSmtpServer } from '../harness/smtp.ts';

const WRITE_KEY = `wk_${randomBytes(16).toString('hex')}`;
const DAY = 86_400_000;

/**
 * The shipped B2B workflow in a real n8n on its embedded store: people and their companies are
 * identified and grouped, browse, read the nurturing emails, ask for a demo; webinar invitations go
 * through ESP Send over SMTP, sales alerts through n8n's Send Email node, to a real SMTP server.
 */
describe('B2B lead retargeting in a real n8n: webinar invitation, sales alert with its reasons, CRM hand-over', () => {
	let n8n: N8nInstance & { dispose(): Promise<void> };
	const smtp = new TestSmtpServer();
	let smtpPort: number;

	beforeAll(async () => {
		smtpPort = await smtp.start();
		// The n8n started here must use the store under its own user folder, as a user's would.
		delete process.env.RETARGETING_SQLITE_FILE;
		n8n = await startTestInstance();
	}, 300_000);

	afterAll(async () => {
		await n8n?.dispose();
		await smtp.stop();
	}, 60_000);

	it('invites the clicker without a form once, alerts sales once about hot leads and buying teams, never about a competitor', async () => {
		const workflow = JSON.parse(readFileSync(path.join(repoRoot(), 'workflows', 'b2b-lead-retargeting.json'), 'utf8')) as WorkflowJson;
		const node = (name: string) => workflow.nodes.find((n) => n.name === name) as unknown as { parameters: Record<string, unknown>; credentials?: unknown };
		// As a user fills it in: the credentials, and the day's wait at 4 seconds.
		const source = await n8n.createCredential('retargetingTrackingApi', 'Website', { writeKey: WRITE_KEY });
		const mail = await n8n.createCredential('retargetingSmtpApi', 'Mail', { host: '127.0.0.1', port: smtpPort, secure: false });
		const unsubscribe = await n8n.createCredential('retargetingUnsubscribeApi', 'Unsubscribe page', {
			publicUrl: `${n8n.baseUrl}/webhook/unsubscribe`,
			secret: randomBytes(24).toString('hex'),
			shopName: 'Example Software',
			backUrl: 'https://www.example.com',
		});
		const n8nSmtp = await n8n.createCredential('smtp', 'Sales mail', { host: '127.0.0.1', port: smtpPort, secure: false, disableStartTls: true, user: '', password: '' });
		node('B2B events').credentials = { retargetingTrackingApi: { id: source, name: 'Website' } };
		node('Wait 1 day').parameters = { amount: 4, unit: 'seconds' };
		node('Invite to the webinar').credentials = { retargetingSmtpApi: { id: mail, name: 'Mail' }, retargetingUnsubscribeApi: { id: unsubscribe, name: 'Unsubscribe page' } };
		node('Email sales').credentials = { smtp: { id: n8nSmtp, name: 'Sales mail' } };
		const workflowId = await n8n.publishWorkflow({ name: workflow.name, nodes: workflow.nodes, connections: workflow.connections, settings: workflow.settings });
		await n8n.waitForWebhook('b2b');

		const now = Date.now();
		const ago = (days: number) => new Date(now - days * DAY).toISOString();
		const send = async (batch: unknown[]) => expect(await n8n.track('b2b', WRITE_KEY, batch)).toMatchObject({ accepted: batch.length, rejected: 0 });
		const person = (userId: string, first: string, last: string, title: string, jobFunction: string, email: string) => ({
			type: 'identify',
			userId,
			timestamp: ago(20),
			traits: { email, first_name: first, last_name: last, title, job_function: jobFunction },
			context: { consent: { email: true } },
		});
		const company = (userId: string, groupId: string, traits: Record<string, unknown>) => ({ type: 'group', userId, groupId, timestamp: ago(20), traits });
		const page = (userId: string, name: string, days: number) => ({ type: 'page', userId, name, timestamp: ago(days), context: { page: { url: `https://www.example.com/${name.toLowerCase()}` } } });
		const track = (userId: string, event: string, days: number, properties: Record<string, unknown> = {}) => ({ type: 'track', userId, event, timestamp: ago(days), properties });
		const ACME = { name: 'Acme SAS', industry: 'Software publishing', naf_code: '58.29C', employees: 120, region: 'Île-de-France', website: 'https://acme.example' };
		const GLOBEX = { name: 'Globex Industries', industry: 'IT consulting', naf_code: '62.02A', employees: 300, region: 'Auvergne-Rhône-Alpes', website: 'https://globex.example' };
		const RIVAL = { name: 'Rival Analytics', industry: 'Software', naf_code: '62.01Z', employees: 80, region: 'Île-de-France' };
		const INITECH = { name: 'Initech', industry: 'Insurance', naf_code: '65.12Z', employees: 250, region: 'Hauts-de-France', website: 'https://initech.example' };

		// Who they are and where they work, and their visits: pages start no execution.
		await send([
			person('claire', 'Claire', 'Martin', 'CTO', 'Engineering', 'claire@acme.example'),
			company('claire', 'acme', ACME),
			page('claire', 'Product', 10),
			person('max', 'Max', 'Petit', 'Developer', 'Engineering', 'max@acme.example'),
			company('max', 'acme', ACME),
			person('hugo', 'Hugo', 'Bernard', 'Head of Finance', 'Finance', 'hugo@globex.example'),
			company('hugo', 'globex', GLOBEX),
			person('rita', 'Rita', 'Lopez', 'Product Manager', 'Product', 'rita@rival-analytics.example'),
			company('rita', 'rival', RIVAL),
			...['nina', 'omar', 'paul'].flatMap((who, k) => [
				person(who, who[0].toUpperCase() + who.slice(1), 'Durand', ['Marketing Director', 'Analyst', 'IT Manager'][k], ['Marketing', 'Finance', 'IT'][k], `${who}@initech.example`),
				company(who, 'initech', INITECH),
			]),
			page('omar', 'Pricing', 6),
			page('paul', 'Integrations', 3),
		]);
		const executions = async (count: number): Promise<Execution[]> => {
			const finished = await n8n.waitForExecutions(workflowId, count, 90_000);
			expect(finished.map((e) => e.data?.resultData.error?.message ?? e.status)).toEqual(Array(count).fill('success'));
			return finished;
		};

		// Claire clicks a nurturing email and sends no form; Max clicks, then fills in the contact form.
		await send([track('claire', 'Email Link Clicked', 0, { campaign_name: 'nurture-3', link_url: 'https://www.example.com/blog/reporting' })]);
		await send([track('max', 'Email Link Clicked', 0, { campaign_name: 'nurture-3' })]);
		await send([track('max', 'Form Submitted', 0, { form: 'contact' })]);
		// Hugo and Rita, a competitor, read the pricing and a case study for days, then ask for a demo.
		for (const who of ['hugo', 'rita']) {
			await send([track(who, 'Pricing Viewed', 5), track(who, 'Case Study Downloaded', 3), track(who, 'Pricing Viewed', 2), track(who, 'Demo Requested', 0)]);
		}
		// Three people of Initech are active this fortnight; Nina attends the webinar.
		await send([track('nina', 'Webinar Attended', 0, { webinar: 'Reporting 101' })]);
		const first = await executions(6);
		await smtp.waitFor(3, 20_000);

		const messages = smtp.messages.map((m) => ({ to: m.to[0], text: decoded(m.raw) }));
		expect(messages.map((m) => m.to).sort()).toEqual(['claire@acme.example', 'sales@example.com', 'sales@example.com']);

		// The sales alerts: Hugo, a hot lead, and Nina, of an active buying team, with the facts that scored.
		const alerts = messages.filter((m) => m.to === 'sales@example.com').map((m) => m.text);
		const hugo = alerts.find((a) => a.includes('hugo@globex.example'))!;
		expect(hugo).toContain('Subject: Hot lead: Hugo Bernard (Globex Industries), score 95');
		for (const reason of ['- Pricing Viewed x2: +20', '- Case Study Downloaded x1: +15', '- Demo Requested x1: +40', '- company.employees >= 50: +10', '- company.naf_code starts with 62: +10']) {
			expect(hugo).toContain(reason);
		}
		expect(hugo).toContain('Job title: Head of Finance');
		// Only what scored: the guard's other checks are no reason.
		expect(hugo).not.toContain('suppressed');
		const nina = alerts.find((a) => a.includes('nina@initech.example'))!;
		expect(nina).toContain('Subject: Active buying team: Nina Durand (Initech), score 30');
		for (const reason of ['- Webinar Attended x1: +20', '- company.employees >= 50: +10', '- company engaged people: 3', '- company.employees: 250']) expect(nina).toContain(reason);
		// The competitor scored -100 for her domain: never announced.
		expect(alerts.join('\n')).not.toContain('rival-analytics');
		const runs = (name: string) => first.flatMap((e) => e.data!.resultData.runData[name]?.[0].data?.main[0]?.map((i) => i.json) ?? []);
		const rita = runs('Not sales-ready').find((j) => (j.profile as { email: string }).email === 'rita@rival-analytics.example')!;
		expect(rita.segment).toMatchObject({ name: null, facts: { score: -5 } });
		expect((rita.segment as { facts: { scoredBy: unknown[] } }).facts.scoredBy).toContainEqual({ reason: 'emailDomain in rival-analytics.example, competitor.example', points: -100 });

		// The hand-over item, as n8n's CRM nodes take it.
		expect(runs('Send to your CRM').find((j) => j.email === 'hugo@globex.example')).toEqual({
			email: 'hugo@globex.example',
			firstname: 'Hugo',
			lastname: 'Bernard',
			company: 'Globex Industries',
			jobtitle: 'Head of Finance',
			phone: '',
			website: 'https://globex.example',
			lead_score: 95,
			lead_source: 'Website (B2B lead retargeting)',
			lead_reasons: expect.stringContaining('- Demo Requested x1: +40'),
		});

		// Claire's invitation, with the pitch of her persona and a tracked link; Max sent the form.
		const invitation = messages.find((m) => m.to === 'claire@acme.example')!.text;
		expect(invitation).toContain('Subject: Claire, join our next webinar: Cut your reporting time in half');
		expect(invitation).toContain('the connectors and the API take the copy-paste out of your reporting');
		expect(invitation).toMatch(/href="https:\/\/www\.example\.com\/webinars\/next\?utm_source=smtp&amp;utm_medium=email&amp;utm_campaign=b2b-webinar&amp;rt_cid=[0-9a-f]{16}"/);
		expect(runs('Form sent or opted out').map((j) => (j.profile as { email: string }).email)).toEqual(['max@acme.example']);

		// The same again: Claire clicks another email, Hugo asks for a demo again. No second email.
		await send([track('claire', 'Email Link Clicked', 0, { campaign_name: 'nurture-4' })]);
		await send([track('hugo', 'Demo Requested', 0)]);
		const all = await executions(8);
		await sleep(2000);
		expect(smtp.messages).toHaveLength(3);
		const again = all.filter((e) => !first.some((f) => f.id === e.id));
		const sends = again.flatMap((e) => e.data!.resultData.runData['Invite to the webinar']?.[0].data?.main[0]?.map((i) => i.json.send as { status: string; reason: string }) ?? []);
		expect(sends).toEqual([expect.objectContaining({ status: 'skipped', reason: 'already sent (same idempotency key)' })]);
		expect(again.flatMap((e) => e.data!.resultData.runData['Email sales']?.[0].data?.main[0] ?? [])).toEqual([]);

		// Retargeting Profile → Account → Get: the company and its people.
		await n8n.publishWorkflow({
			name: 'Company',
			nodes: [
				{
					id: 'b2b1ead0-0000-4000-8000-000000000001',
					name: 'Webhook',
					type: 'n8n-nodes-base.webhook',
					typeVersion: 2,
					position: [0, 0],
					webhookId: 'b2b1ead0-0000-4000-8000-0000000000aa',
					parameters: { httpMethod: 'POST', path: 'company', responseMode: 'lastNode', options: {} },
				},
				{
					id: 'b2b1ead0-0000-4000-8000-000000000002',
					name: 'Retargeting Profile',
					type: 'n8n-nodes-retargeting.retargetingProfile',
					typeVersion: 1,
					position: [220, 0],
					parameters: { resource: 'account', operation: 'get', groupId: '={{ $json.body.groupId }}' },
				},
			],
			connections: { Webhook: { main: [[{ node: 'Retargeting Profile', type: 'main', index: 0 }]] } },
		});
		await n8n.waitForWebhook('company');
		const res = await n8n.webhook('company', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ groupId: 'initech' }) });
		const initech = (await res.json()) as { found: boolean; traits: unknown; people: Array<{ email: string; leftAt: string | null }> };
		expect(initech).toMatchObject({ found: true, id: 'initech', traits: INITECH });
		expect(initech.people.map((p) => p.email).sort()).toEqual(['nina@initech.example', 'omar@initech.example', 'paul@initech.example']);
		expect(initech.people.every((p) => p.leftAt === null)).toBe(true);
	}, 300_000);
});
