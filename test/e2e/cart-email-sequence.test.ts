import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import path from 'node:path';

import { type N8nInstance, type WorkflowJson, trackingTriggerNode, webhookNode } from '../harness/n8n.ts';
import { startTestInstance } from '../harness/instance.ts';
import { repoRoot } from '../harness/paths.ts';
import { BrevoStandIn } from '../harness/brevo-stand-in.ts';
import { MailjetStandIn } from '../harness/mailjet-stand-in.ts';
import { MandrillStandIn } from '../harness/mandrill-stand-in.ts';
import { PostmarkStandIn } from '../harness/postmark-stand-in.ts';
import { SendGridStandIn } from '../harness/sendgrid-stand-in.ts';
import { SesStandIn } from '../harness/ses-stand-in.ts';
import { decoded, TestSmtpServer } from '../harness/smtp.ts';
import { launchBrowser } from '../harness/editor.ts';

const WRITE_KEY = `wk_${randomBytes(16).toString('hex')}`;
const UNSUBSCRIBE_KEY = randomBytes(24).toString('hex');

describe('ESP Send in a real n8n: the shipped cart-abandonment sequence over SMTP, then the API providers', () => {
	let n8n: N8nInstance & { dispose(): Promise<void> };
	/** The shipped cart sequence, published by the first test. */
	let cartWorkflowId: string;
	const smtp = new TestSmtpServer();
	const postmark = new PostmarkStandIn();
	const sendgrid = new SendGridStandIn();
	const mailjet = new MailjetStandIn();
	const mandrill = new MandrillStandIn();
	const brevo = new BrevoStandIn();
	const ses = new SesStandIn();
	let smtpPort: number;
	let postmarkUrl: string;
	let sendgridUrl: string;
	let mailjetUrl: string;
	let mandrillUrl: string;
	let brevoUrl: string;
	let sesUrl: string;

	beforeAll(async () => {
		smtpPort = await smtp.start();
		postmarkUrl = await postmark.start();
		sendgridUrl = await sendgrid.start();
		mailjetUrl = await mailjet.start();
		mandrillUrl = await mandrill.start();
		brevoUrl = await brevo.start();
		sesUrl = await ses.start();
		n8n = await startTestInstance();
	}, 300_000);

	afterAll(async () => {
		await n8n?.dispose();
		await smtp.stop();
		await postmark.stop();
		await sendgrid.stop();
		await mailjet.stop();
		await mandrill.stop();
		await brevo.stop();
		await ses.stop();
	}, 60_000);

	it('emails step 1 to the person who consented; not to one who withdrew or never gave consent, nor to a buyer; the same execution run again sends nothing; the weekly report credits the email with the order that followed', async () => {
		const source = await n8n.createCredential('retargetingTrackingApi', 'Shop', { writeKey: WRITE_KEY });
		const mail = await n8n.createCredential('retargetingSmtpApi', 'Mail', { host: '127.0.0.1', port: smtpPort, secure: false });
		// The package's unsubscribe page: the shipped email-events workflow serves it at /webhook/unsubscribe.
		const unsubscribe = await n8n.createCredential('retargetingUnsubscribeApi', 'Unsubscribe page', { publicUrl: `${n8n.baseUrl}/webhook/unsubscribe`, secret: UNSUBSCRIBE_KEY, shopName: 'The Shop', backUrl: 'https://shop.example' });
		// As its note says: a shop that sends over SMTP keeps the unsubscribe page and deletes the providers' triggers.
		const events = JSON.parse(readFileSync(path.join(repoRoot(), 'workflows', 'email-events.json'), 'utf8')) as WorkflowJson;
		const kept = events.nodes.filter((n) => ['Unsubscribe page', 'Unsubscribed', 'Note'].includes(n.name));
		(kept.find((n) => n.name === 'Unsubscribe page') as unknown as { credentials: unknown }).credentials = { retargetingUnsubscribeApi: { id: unsubscribe, name: 'Unsubscribe page' } };
		await n8n.publishWorkflow({ name: events.name, nodes: kept, connections: { 'Unsubscribe page': events.connections['Unsubscribe page'] } });
		await n8n.waitForWebhook('unsubscribe');
		await n8n.publishWorkflow({
			name: 'Collect',
			nodes: [
				trackingTriggerNode('shop', { id: source, name: 'Shop' }),
			],
			connections: {},
		});
		await n8n.waitForWebhook('shop');
		const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();
		const checkout = (who: string, consent?: boolean) => [
			{
				type: 'identify',
				anonymousId: who,
				traits: { email: `${who}@example.com`, first_name: who[0].toUpperCase() + who.slice(1) },
				context: consent === undefined ? {} : { consent: { email: consent } },
				timestamp: ago(20),
			},
			{
				type: 'track',
				event: 'Checkout Started',
				anonymousId: who,
				timestamp: ago(10),
				properties: { cart_id: `c-${who}`, value: 25, currency: 'EUR', products: [{ product_id: 'sku-1', name: 'Tea & <Biscuits>', price: 12.5, quantity: 2 }] },
			},
		];
		// Ada opted in; Bob withdrew (the trigger ends his sequence); Carol never said (the filter stops
		// her); Dan opted in and then bought (his cart is converted: no sequence).
		const order = { type: 'track', event: 'Order Completed', anonymousId: 'dan', timestamp: ago(5), properties: { order_id: 'o-dan', cart_id: 'c-dan', total: 25, currency: 'EUR' } };
		expect(await n8n.track('shop', WRITE_KEY, [...checkout('ada', true), ...checkout('bob', false), ...checkout('carol'), ...checkout('dan', true), order])).toMatchObject({
			accepted: 9,
			rejected: 0,
		});

		// The shipped file, with its steps shortened to seconds, the SMTP credential set, and the
		// holdout off so that both people are treated.
		const template = JSON.parse(readFileSync(path.join(repoRoot(), 'workflows', 'cart-abandonment-email-sequence.json'), 'utf8')) as WorkflowJson;
		const node = (name: string) => template.nodes.find((n) => n.name === name) as unknown as { parameters: Record<string, unknown>; credentials?: unknown };
		node('Abandoned Cart Trigger').parameters.steps = '5s, 10m, 20m';
		node('Still abandoned?').parameters.holdoutPercent = 0;
		node('ESP Send').credentials = { retargetingSmtpApi: { id: mail, name: 'Mail' }, retargetingUnsubscribeApi: { id: unsubscribe, name: 'Unsubscribe page' } };
		cartWorkflowId = await n8n.publishWorkflow({ name: template.name, nodes: template.nodes, connections: template.connections });

		await smtp.waitFor(1, 90_000);
		const [execution] = await n8n.waitForExecutions(cartWorkflowId, 1, 30_000);
		const run = execution.data!.resultData.runData;
		const sent = run['ESP Send'][0].data!.main[0]!.map((i) => i.json.send as { status: string; to: string; subject: string });
		expect(sent).toEqual([expect.objectContaining({ status: 'sent', to: 'ada@example.com', subject: 'Ada, your cart is waiting' })]);
		const emitted = run['Abandoned Cart Trigger'][0].data!.main[0]!.map((i) => i.json.cartId);
		expect(emitted.sort()).toEqual(['c-ada', 'c-carol']);
		const notSent = run['Not sent (ordered, opted out, capped)'][0].data!.main[0]!.map((i) => (i.json.profile as { email: string }).email);
		expect(notSent).toEqual(['carol@example.com']);

		expect(smtp.messages.map((m) => m.to)).toEqual([['ada@example.com']]);
		const raw = decoded(smtp.messages[0].raw);
		expect(raw).toContain(`List-Unsubscribe: <${n8n.baseUrl}/webhook/unsubscribe?t=`);
		expect(raw).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
		expect(raw).toContain('Tea &amp; &lt;Biscuits&gt;');
		expect(raw).toMatch(/href="https:\/\/shop\.example\/cart\/restore\?cart=c-ada&amp;utm_source=smtp&amp;utm_medium=email&amp;utm_campaign=cart-recovery&amp;utm_content=step-1&amp;rt_cid=[0-9a-f]{16}"/);
		expect(raw).not.toContain('COMEBACK10');

		// The same execution again (the trigger's items pinned, as "Debug in editor" does): the guard
		// now counts Ada's email against its cap of one, so nothing new is sent (ESP Send's own
		// idempotency key, the second line of defence, is shown in esp-send-node.test.ts).
		const rerun = await n8n.waitForExecution(await n8n.runWithPinnedTrigger(cartWorkflowId, 'Abandoned Cart Trigger', run['Abandoned Cart Trigger'][0].data!.main[0]!));
		expect(rerun.status).toBe('success');
		const rerunData = rerun.data!.resultData.runData;
		expect(rerunData['ESP Send']).toBeUndefined();
		const held = rerunData['Not sent (ordered, opted out, capped)'][0].data!.main[0]!.map((i) => i.json);
		expect(held.map((j) => (j.profile as { email: string }).email)).toEqual(['ada@example.com', 'carol@example.com']);
		expect((held[0].segment as { facts: Record<string, unknown> }).facts).toMatchObject({ 'email sends': 1 });
		expect(smtp.messages).toHaveLength(1);

		// Ada comes back through the email's link and buys: the shipped weekly report, run now (its
		// schedule's item pinned), emails the team that the cart email earned the order.
		const link = /href="(https:\/\/shop\.example\/cart\/restore\?[^"]+)"/.exec(raw)![1].replace(/&amp;/g, '&');
		expect(
			await n8n.track('shop', WRITE_KEY, [
				{ type: 'page', anonymousId: 'ada', context: { page: { url: link } } },
				{ type: 'track', event: 'Order Completed', anonymousId: 'ada', properties: { order_id: 'o-ada', cart_id: 'c-ada', revenue: 25, currency: 'EUR' } },
			]),
		).toMatchObject({ accepted: 2 });
		const team = await n8n.createCredential('smtp', 'Team mail', { host: '127.0.0.1', port: smtpPort, secure: false, user: '', password: '' });
		const weekly = JSON.parse(readFileSync(path.join(repoRoot(), 'workflows', 'weekly-attribution-report.json'), 'utf8')) as WorkflowJson;
		(weekly.nodes.find((n) => n.name === 'Email the marketing team') as unknown as { credentials: unknown }).credentials = { smtp: { id: team, name: 'Team mail' } };
		const weeklyId = await n8n.createWorkflow({ name: weekly.name, nodes: weekly.nodes, connections: weekly.connections, settings: weekly.settings });
		const report = await n8n.waitForExecution(await n8n.runWithPinnedTrigger(weeklyId, 'Every Monday 8:00', [{ json: {} }]));
		expect(report.status).toBe('success');
		const summary = report.data!.resultData.runData['Attribution report, last 7 days'][0].data!.main[0]![0].json as { conversions: number; revenue: number; byChannel: Array<Record<string, unknown>>; topPaths: unknown[] };
		// Ada's order and Dan's (who bought at once, with no touch before: Direct).
		expect([summary.conversions, summary.revenue]).toEqual([2, 50]);
		// For Ada the email was the last touch; the visit from its link carries rt_cid, which the rules read as Email too.
		expect(summary.byChannel.filter((r) => r.model === 'lastTouch').map((r) => [r.channel, r.campaign, r.revenue])).toEqual([
			['Direct', '', 25],
			['Email', 'cart-recovery', 25],
		]);
		expect(summary.topPaths).toEqual(expect.arrayContaining([{ path: 'Email', conversions: 1, revenue: 25 }]));
		await smtp.waitFor(2, 30_000);
		expect(smtp.messages[1].to).toEqual(['marketing@shop.example']);
		const teamMail = decoded(smtp.messages[1].raw);
		expect(teamMail).toMatch(/Subject: Retargeting: 50\.00 revenue from 2 conversions, week to \d{4}-\d{2}-\d{2}/);
		expect(teamMail).toContain('Revenue by channel');
		expect(teamMail).toMatch(/>Email<\/td><td[^>]*>25\.00<\/td>/);
	}, 240_000);

	/** Webhook → ESP Send with an API provider, whose credential points at the local stand-in. */
	const publishApiSend = async (provider: string, credentialType: string, credentialId: string) => {
		const webhookPath = `send-${provider}`;
		await n8n.publishWorkflow({
			name: `${provider} send`,
			nodes: [
				webhookNode(webhookPath, 'lastNode'),
				{
					id: randomUUID(),
					name: 'ESP Send',
					type: 'n8n-nodes-retargeting.espSend',
					typeVersion: 1,
					position: [220, 0],
					parameters: {
						provider,
						personIdKind: 'email',
						personField: 'body.email',
						fromEmail: 'shop@example.com',
						subject: 'Hello {first_name}',
						unsubscribeLink: 'custom',
						unsubscribeUrl: 'https://shop.example/u/{profile_id}',
						campaign: 'welcome-back',
						// Ada gets one email per provider here; the default cap (3 a day) would stop the fourth.
						options: { capMax: 0 },
					},
					credentials: { [credentialType]: { id: credentialId, name: provider } },
				},
			],
			connections: { Webhook: { main: [[{ node: 'ESP Send', type: 'main', index: 0 }]] } },
		});
		await n8n.waitForWebhook(webhookPath);
		const res = await n8n.webhook(webhookPath, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com' }) });
		return (await res.json()) as Record<string, unknown>;
	};

	it('sends through Postmark, SendGrid, Mailjet, Mailchimp Transactional, Brevo and Amazon SES with the credentials n8n authenticates (local stand-ins of their APIs)', async () => {
		const postmarkToken = await n8n.createCredential('retargetingPostmarkApi', 'postmark', { serverToken: postmark.token, apiUrl: postmarkUrl });
		expect(await publishApiSend('postmark', 'retargetingPostmarkApi', postmarkToken)).toMatchObject({
			send: { status: 'sent', to: 'ada@example.com', subject: 'Hello Ada', providerId: 'pm-1' },
		});
		expect(postmark.requests).toHaveLength(1);
		expect(postmark.requests[0]).toMatchObject({ token: postmark.token, messages: [{ To: 'ada@example.com', Subject: 'Hello Ada', MessageStream: 'outbound', Tag: 'welcome-back' }] });
		expect(postmark.shapeErrors).toEqual([]);

		const sendgridKey = await n8n.createCredential('retargetingSendGridApi', 'sendgrid', { apiKey: sendgrid.apiKey, apiUrl: sendgridUrl });
		expect(await publishApiSend('sendgrid', 'retargetingSendGridApi', sendgridKey)).toMatchObject({
			send: { status: 'sent', to: 'ada@example.com', subject: 'Hello Ada', providerId: 'sg-1' },
		});
		expect(sendgrid.requests).toHaveLength(1);
		expect(sendgrid.requests[0]).toMatchObject({ authorization: `Bearer ${sendgrid.apiKey}`, body: { subject: 'Hello Ada', categories: ['welcome-back'] } });
		expect(sendgrid.shapeErrors).toEqual([]);

		const mailjetKeys = await n8n.createCredential('retargetingMailjetApi', 'mailjet', { apiKey: mailjet.apiKey, apiSecret: mailjet.apiSecret, apiUrl: mailjetUrl });
		expect(await publishApiSend('mailjet', 'retargetingMailjetApi', mailjetKeys)).toMatchObject({
			send: { status: 'sent', to: 'ada@example.com', subject: 'Hello Ada', providerId: 'mj-1' },
		});
		expect(mailjet.requests).toHaveLength(1);
		expect(mailjet.requests[0]).toMatchObject({ messages: [{ Subject: 'Hello Ada', CustomCampaign: 'welcome-back' }] });
		expect(mailjet.shapeErrors).toEqual([]);

		const mandrillKey = await n8n.createCredential('retargetingMandrillApi', 'mandrill', { apiKey: mandrill.apiKey, apiUrl: mandrillUrl });
		expect(await publishApiSend('mandrill', 'retargetingMandrillApi', mandrillKey)).toMatchObject({
			send: { status: 'sent', to: 'ada@example.com', subject: 'Hello Ada', providerId: 'md-1' },
		});
		expect(mandrill.requests).toHaveLength(1);
		expect(mandrill.requests[0]).toMatchObject({ key: mandrill.apiKey, message: { subject: 'Hello Ada', tags: ['welcome-back'] } });
		expect(mandrill.shapeErrors).toEqual([]);

		// The editor's credential Test button, through n8n's own credential test.
		expect(await n8n.testCredential('retargetingBrevoApi', { apiKey: brevo.apiKey, apiUrl: brevoUrl })).toMatchObject({ status: 'OK' });
		expect(await n8n.testCredential('retargetingBrevoApi', { apiKey: 'xkeysib-wrong', apiUrl: brevoUrl })).toMatchObject({ status: 'Error' });
		const sesData = { region: ses.region, accessKeyId: ses.accessKeyId, secretAccessKey: ses.secretAccessKey, apiUrl: sesUrl };
		expect(await n8n.testCredential('retargetingSesApi', sesData)).toMatchObject({ status: 'OK' });
		expect(await n8n.testCredential('retargetingSesApi', { ...sesData, secretAccessKey: 'wrong' })).toMatchObject({ status: 'Error' });

		const brevoKey = await n8n.createCredential('retargetingBrevoApi', 'brevo', { apiKey: brevo.apiKey, apiUrl: brevoUrl });
		expect(await publishApiSend('brevo', 'retargetingBrevoApi', brevoKey)).toMatchObject({
			send: { status: 'sent', to: 'ada@example.com', subject: 'Hello Ada', providerId: '<brevo-1@smtp-relay.mailin.fr>' },
		});
		expect(brevo.requests).toHaveLength(1);
		expect(brevo.requests[0]).toMatchObject({ apiKey: brevo.apiKey, body: { tags: ['welcome-back'], messageVersions: [{ to: [{ email: 'ada@example.com' }], subject: 'Hello Ada' }] } });
		expect(brevo.shapeErrors).toEqual([]);

		// n8n sends the request the credential signed (Signature Version 4), which the stand-in checks.
		const sesKeys = await n8n.createCredential('retargetingSesApi', 'ses', sesData);
		expect(await publishApiSend('ses', 'retargetingSesApi', sesKeys)).toMatchObject({
			send: { status: 'sent', to: 'ada@example.com', subject: 'Hello Ada', providerId: '0102019ses-1-000000' },
		});
		expect(ses.requests).toHaveLength(1);
		expect(ses.requests[0].body).toMatchObject({ Destination: { ToAddresses: ['ada@example.com'] }, EmailTags: [{ Name: 'campaign', Value: 'welcome-back' }] });
		expect(ses.shapeErrors).toEqual([]);
	}, 120_000);

	it("the email's one-click unsubscribe (RFC 8058, as Gmail posts it) withdraws Eve's email consent and the next step skips her; a tampered or cut token gets 400 and changes nothing; the page renders in Chromium without JavaScript", async () => {
		const store = () => new DatabaseSync(path.join(n8n.userFolder, '.n8n', 'retargeting', 'store.sqlite'), { readOnly: true });
		const eve = () => {
			const db = store();
			try {
				const profile = db.prepare("SELECT p.id, p.consent FROM rt_profiles p JOIN rt_identities i ON i.profile_id = p.id WHERE i.kind = 'email' AND i.value = 'eve@example.com'").get() as { id: string; consent: string };
				const log = db.prepare('SELECT purpose, action, source FROM rt_consent_log WHERE profile_id = ? ORDER BY id').all(profile.id) as Array<Record<string, string>>;
				return { id: profile.id, consent: JSON.parse(profile.consent) as Record<string, boolean>, log: log.map((e) => [e.purpose, e.action, e.source]) };
			} finally {
				db.close();
			}
		};
		const before = smtp.messages.length;
		const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();
		expect(
			await n8n.track('shop', WRITE_KEY, [
				{ type: 'identify', anonymousId: 'eve', traits: { email: 'eve@example.com', first_name: 'Eve' }, context: { consent: { email: true } }, timestamp: ago(20) },
				{ type: 'track', event: 'Checkout Started', anonymousId: 'eve', timestamp: ago(10), properties: { cart_id: 'c-eve', value: 9, currency: 'EUR', products: [{ product_id: 'sku-2', name: 'Jam', price: 9, quantity: 1 }] } },
			]),
		).toMatchObject({ accepted: 2 });
		await smtp.waitFor(before + 1, 90_000);
		const message = decoded(smtp.messages[before].raw);
		expect(smtp.messages[before].to).toEqual(['eve@example.com']);
		const link = /List-Unsubscribe: <([^>]+)>/.exec(message.replace(/\r?\n[ \t]+/g, ' '))![1];
		expect(link.startsWith(`${n8n.baseUrl}/webhook/unsubscribe?t=`)).toBe(true);
		// The token names the person by the store's id: the address is nowhere in the link.
		expect(link).not.toMatch(/eve|%40/i);
		const token = new URL(link).searchParams.get('t')!;
		const oneClick = (url: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });

		const flipped = token.slice(0, -3) + (token.slice(-3, -2) === 'A' ? 'B' : 'A') + token.slice(-2);
		for (const bad of [flipped, token.slice(0, token.length - 10), token.split('.').slice(0, 2).join('.'), '']) {
			const url = `${n8n.baseUrl}/webhook/unsubscribe?t=${encodeURIComponent(bad)}`;
			expect((await oneClick(url)).status).toBe(400);
			const page = await fetch(url);
			expect(page.status).toBe(400);
			expect(await page.text()).toContain('This unsubscribe link is not valid');
		}
		expect(eve().consent.email).toBe(true);
		expect(eve().log).toEqual([['email', 'granted', 'tracking:identify']]);

		// The page a person sees, in Chromium with JavaScript off: it offers the campaign or all emails and changes nothing by itself.
		const browser = await launchBrowser();
		try {
			const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 640, height: 480 } });
			const page = await context.newPage();
			const answer = await page.goto(link);
			expect(answer?.status()).toBe(200);
			expect(answer?.headers()['content-security-policy']).toContain("default-src 'none'");
			expect(await page.getByRole('button', { name: 'Only this campaign (cart-recovery)' }).isVisible()).toBe(true);
			expect(await page.getByRole('button', { name: 'All emails, and ads based on my visits' }).isVisible()).toBe(true);
			expect(await page.getByRole('link', { name: 'Back to The Shop' }).getAttribute('href')).toBe('https://shop.example');
			mkdirSync(path.join(repoRoot(), '.test-runs'), { recursive: true });
			await page.screenshot({ path: path.join(repoRoot(), '.test-runs', 'unsubscribe-page.png') });
			expect(eve().consent.email).toBe(true);
		} finally {
			await browser.close();
		}

		// Gmail's one-click POST: 200 and no page; consent withdrawn at once, with its source.
		const clicked = await oneClick(link);
		expect(clicked.status).toBe(200);
		expect(await clicked.text()).toBe('');
		expect(eve().consent.email).toBe(false);
		expect(eve().log).toEqual([
			['email', 'granted', 'tracking:identify'],
			['email', 'withdrawn', 'one-click'],
		]);

		// The next step of her sequence: the guard stops her, for the consent she withdrew, and nothing is sent.
		const [first] = (await n8n.waitForExecutions(cartWorkflowId, 2, 30_000)).filter((e) => JSON.stringify(e.data?.resultData.runData['Abandoned Cart Trigger']?.[0].data?.main[0] ?? []).includes('c-eve'));
		const item = first.data!.resultData.runData['Abandoned Cart Trigger'][0].data!.main[0]!.find((i) => i.json.cartId === 'c-eve')!;
		const next = await n8n.waitForExecution(await n8n.runWithPinnedTrigger(cartWorkflowId, 'Abandoned Cart Trigger', [{ json: { ...item.json, step: 2 } }]));
		expect(next.data!.resultData.runData['ESP Send']).toBeUndefined();
		const [held] = next.data!.resultData.runData['Not sent (ordered, opted out, capped)'][0].data!.main[0]!.map((i) => i.json);
		expect((held.segment as { facts: Record<string, unknown> }).facts).toMatchObject({ 'email consent': false });
		expect(smtp.messages).toHaveLength(before + 1);
	}, 180_000);
});
