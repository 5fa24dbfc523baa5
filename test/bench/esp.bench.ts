/**
 * `npm run bench` (ESP part): ESP Send run in-process by n8n-core (test/harness/run-node.ts) on
 * 10,000 items, one execution each, against the local stand-in of each provider's API.
 *
 * - Calls per 10,000 emails, for each HTTP provider: it must be ceil(10,000 / the provider's batch
 *   limit) (the bench fails otherwise), with the emails/s of that run.
 * - ESP Send (SendGrid) against n8n's built-in SendGrid node (Mail > Send) sending the same emails
 *   to the same stand-in: n8n's node's requests to api.sendgrid.com are pointed at the stand-in by
 *   the credential's authenticate step. ESP Send does more per email (it reads the person from the
 *   store, checks consent, suppression and the cap, reserves and confirms the idempotency key,
 *   renders the cart table); n8n's node sends what the item holds. Measured twice: with the
 *   stand-in answering at once (the nodes' own cost), and with a round trip of
 *   BENCH_ESP_LATENCY_MS (20 ms, as to a nearby region) on 2,000 emails, where ESP Send's
 *   4 calls at once count. Interleaved rounds, best of each.
 * Expressions run on n8n's legacy engine. People are written straight into the tables.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { ICredentialDataDecryptedObject, ICredentialType, IHttpRequestOptions, INodeExecutionData, INodeParameters, INodeType } from 'n8n-workflow';

import { BrevoStandIn } from '../harness/brevo-stand-in.ts';
import { MailjetStandIn } from '../harness/mailjet-stand-in.ts';
import { MandrillStandIn } from '../harness/mandrill-stand-in.ts';
import { repoRoot } from '../harness/paths.ts';
import { PostmarkStandIn } from '../harness/postmark-stand-in.ts';
import { authenticateWith, loadN8nCredentialType, loadN8nNodeType, runNode } from '../harness/run-node.ts';
import { SendGridStandIn } from '../harness/sendgrid-stand-in.ts';
import { SesStandIn } from '../harness/ses-stand-in.ts';
import type { StandIn } from '../harness/stand-in.ts';

const EMAILS = Number(process.env.BENCH_EMAILS ?? 10_000);
const LATENCY_MS = Number(process.env.BENCH_ESP_LATENCY_MS ?? 20);
const LATENCY_EMAILS = Math.min(EMAILS, Number(process.env.BENCH_ESP_LATENCY_EMAILS ?? 2_000));

const dir = mkdtempSync(path.join(tmpdir(), 'rt-esp-'));
process.env.RETARGETING_SQLITE_FILE = path.join(dir, 'store.sqlite');
const load = createRequire(path.join(repoRoot(), 'package.json'));
const { openEmbeddedStore } = load('./dist/nodes/shared/store/open.js') as typeof import('../../nodes/shared/store/open.ts');
const { insertRows } = load('./dist/nodes/shared/store/sql.js') as typeof import('../../nodes/shared/store/sql.ts');
const { EspSend } = load('./dist/nodes/EspSend/EspSend.node.js') as typeof import('../../nodes/EspSend/EspSend.node.ts');
const credentialClass = <T>(name: string) => (load(`./dist/credentials/${name}.credentials.js`) as Record<string, new () => T>)[name];

async function fill(): Promise<void> {
	const store = await openEmbeddedStore();
	const now = new Date().toISOString();
	const rows = Array.from({ length: EMAILS }, (_, i) => [`p-${i}`, `u-${i}`, `p${i}@example.com`, JSON.stringify({ first_name: `Ada ${i}` }), '{"email":true}', 0, now, now]);
	await store.driver.transaction(async (tx) => {
		for (let i = 0; i < rows.length; i += 1000) await insertRows(tx, 'INSERT INTO rt_profiles (id, user_id, email, traits, consent, suppressed, first_seen, last_seen)', rows.slice(i, i + 1000));
	});
}

/** The abandoned-cart item ESP Send gets: the person's ID and the cart. */
const cartItem = (i: number): INodeExecutionData => ({
	json: {
		profileId: `p-${i}`,
		cartId: `c-${i}`,
		step: 1,
		currency: 'EUR',
		items: [{ name: 'Linen shirt', quantity: 1, price: 49 }],
		recoveryUrl: `https://shop.example/cart/c-${i}`,
	},
});

interface Provider {
	name: string;
	value: string;
	standIn: StandIn & { requests: unknown[] };
	limit: number;
	credential: string;
	data: (url: string) => ICredentialDataDecryptedObject;
}

let run = 0;

/** ESP Send over `count` items in one execution; a workflow ID of its own makes fresh idempotency keys. */
async function espSend(provider: Provider, url: string, count: number): Promise<{ ms: number; sent: number }> {
	const items = Array.from({ length: count }, (_, i) => cartItem(i));
	const parameters: INodeParameters = {
		provider: provider.value,
		fromEmail: 'shop@example.com',
		fromName: 'The Shop',
		unsubscribeLink: 'custom',
		unsubscribeUrl: 'https://shop.example/unsubscribe?p={profile_id}',
		campaign: 'bench',
		options: { capMax: 0 },
	};
	const t0 = performance.now();
	const [out] = await runNode({
		nodeType: new EspSend() as INodeType,
		parameters,
		items,
		workflowId: `bench-${++run}`,
		credentials: { [provider.credential]: provider.data(url) },
		credentialTypes: { [provider.credential]: new (credentialClass<ICredentialType>(credentialName(provider.credential)))() },
		expressionEngine: 'legacy',
	});
	const ms = performance.now() - t0;
	return { ms, sent: out.filter((item) => (item.json.send as { status?: string } | undefined)?.status === 'sent').length };
}

/** `retargetingSendGridApi` → `RetargetingSendGridApi`. */
const credentialName = (type: string) => type[0].toUpperCase() + type.slice(1);

async function main(): Promise<void> {
	await fill();
	const sendgrid = new SendGridStandIn();
	const ses = new SesStandIn();
	const brevo = new BrevoStandIn();
	const mailjet = new MailjetStandIn();
	const postmark = new PostmarkStandIn();
	const mandrill = new MandrillStandIn();
	const providers: Provider[] = [
		{ name: 'Brevo', value: 'brevo', standIn: brevo, limit: 1000, credential: 'retargetingBrevoApi', data: (apiUrl) => ({ apiKey: brevo.apiKey, apiUrl }) },
		{ name: 'Postmark', value: 'postmark', standIn: postmark, limit: 500, credential: 'retargetingPostmarkApi', data: (apiUrl) => ({ serverToken: postmark.token, apiUrl }) },
		{ name: 'Mailjet', value: 'mailjet', standIn: mailjet, limit: 50, credential: 'retargetingMailjetApi', data: (apiUrl) => ({ apiKey: mailjet.apiKey, apiSecret: mailjet.apiSecret, apiUrl }) },
		{ name: 'SendGrid', value: 'sendgrid', standIn: sendgrid, limit: 1, credential: 'retargetingSendGridApi', data: (apiUrl) => ({ apiKey: sendgrid.apiKey, apiUrl }) },
		{ name: 'Mailchimp Transactional', value: 'mandrill', standIn: mandrill, limit: 1, credential: 'retargetingMandrillApi', data: (apiUrl) => ({ apiKey: mandrill.apiKey, apiUrl }) },
		{
			name: 'Amazon SES',
			value: 'ses',
			standIn: ses,
			limit: 1,
			credential: 'retargetingSesApi',
			data: (apiUrl) => ({ region: ses.region, accessKeyId: ses.accessKeyId, secretAccessKey: ses.secretAccessKey, apiUrl }),
		},
	];
	const urls = new Map<StandIn, string>();
	for (const p of providers) urls.set(p.standIn, await p.standIn.start());
	const fmt = (n: number) => Math.round(n).toLocaleString('en');
	const lines = [`esp: ESP Send, ${fmt(EMAILS)} emails in one execution, local stand-ins of the providers' APIs`];
	try {
		// One untimed execution first: opening the store, warming the JIT.
		await espSend(providers[3], urls.get(sendgrid)!, 10);
		for (const p of providers) {
			const before = p.standIn.requests.length;
			const { ms, sent } = await espSend(p, urls.get(p.standIn)!, EMAILS);
			const calls = p.standIn.requests.length - before;
			const expected = Math.ceil(EMAILS / p.limit);
			if (sent !== EMAILS || calls !== expected || p.standIn.shapeErrors.length) {
				throw new Error(`${p.name}: ${sent} sent in ${calls} calls (expected ${EMAILS} in ${expected}); shape errors: ${p.standIn.shapeErrors.slice(0, 3).join('; ')}`);
			}
			lines.push(`  ${p.name.padEnd(24)} ${fmt(calls).padStart(6)} calls (ceil(${fmt(EMAILS)} / ${fmt(p.limit)})), ${fmt(sent / (ms / 1000))} emails/s`);
		}

		const n8nSendGrid = await loadN8nNodeType('SendGrid');
		const sendGridApi = await loadN8nCredentialType('SendGridApi');
		// n8n's SendGrid node calls https://api.sendgrid.com/v3 (legacy request, `uri`): sent to the stand-in instead.
		const toStandIn: ICredentialType = {
			...sendGridApi,
			authenticate: async (data: ICredentialDataDecryptedObject, request: IHttpRequestOptions) => {
				const signed = (await authenticateWith(sendGridApi, 'sendGridApi', data, request)) as IHttpRequestOptions & { uri?: string };
				return { ...signed, ...(signed.uri ? { uri: signed.uri.replace('https://api.sendgrid.com', urls.get(sendgrid)!) } : {}) } as IHttpRequestOptions;
			},
		};
		const theirs = async (count: number) => {
			const items = Array.from({ length: count }, (_, i): INodeExecutionData => ({ json: { email: `p${i}@example.com`, first_name: `Ada ${i}`, profileId: `p-${i}` } }));
			const t0 = performance.now();
			const [out] = await runNode({
				nodeType: n8nSendGrid,
				parameters: {
					resource: 'mail',
					operation: 'send',
					fromEmail: 'shop@example.com',
					fromName: 'The Shop',
					toEmail: '={{ $json.email }}',
					subject: '={{ $json.first_name }}, your cart is waiting',
					contentType: 'text/html',
					contentValue: '=<p>Hello {{ $json.first_name }},</p><p><a href="https://shop.example/cart">Back to your cart</a></p>',
					additionalFields: { headers: { details: [{ key: 'List-Unsubscribe', value: '=<https://shop.example/unsubscribe?p={{ $json.profileId }}>' }] } },
				},
				items,
				credentials: { sendGridApi: { apiKey: sendgrid.apiKey } },
				credentialTypes: { sendGridApi: toStandIn },
				expressionEngine: 'legacy',
			});
			const ms = performance.now() - t0;
			const sent = out.filter((item) => typeof item.json.messageId === 'string' && item.json.messageId).length;
			if (sent !== count) throw new Error(`n8n's SendGrid node sent ${sent} of ${count}: ${JSON.stringify(out[0]?.json)}`);
			return count / (ms / 1000);
		};
		const ours = async (count: number) => {
			const { ms, sent } = await espSend(providers[3], urls.get(sendgrid)!, count);
			if (sent !== count) throw new Error(`ESP Send sent ${sent} of ${count}`);
			return count / (ms / 1000);
		};
		await theirs(10);
		const rounds = Number(process.env.BENCH_ESP_ROUNDS ?? 2);
		for (const [latency, count] of [
			[0, EMAILS],
			[LATENCY_MS, LATENCY_EMAILS],
		]) {
			sendgrid.latencyMs = latency;
			const best = { ours: 0, theirs: 0 };
			for (let round = 0; round < rounds; round++) {
				const a = await ours(count);
				const b = await theirs(count);
				best.ours = Math.max(best.ours, a);
				best.theirs = Math.max(best.theirs, b);
				process.stderr.write(`[bench] latency ${latency} ms, round ${round + 1}: ESP Send ${fmt(a)}, n8n SendGrid ${fmt(b)} emails/s\n`);
			}
			lines.push(
				`  SendGrid, ${fmt(count)} emails, stand-in answering ${latency ? `after ${latency} ms` : 'at once'}: ESP Send ${fmt(best.ours)} emails/s, n8n's SendGrid node ${fmt(best.theirs)} emails/s, ratio ${(best.ours / best.theirs).toFixed(2)}x (best of ${rounds})`,
			);
		}
		if (sendgrid.shapeErrors.length) throw new Error(`SendGrid shape errors: ${sendgrid.shapeErrors.slice(0, 3).join('; ')}`);
	} finally {
		for (const p of providers) await p.standIn.stop();
	}
	process.stdout.write(`${lines.join('\n')}\n`);
}

main()
	.catch((error: unknown) => {
		process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
		process.exitCode = 1;
	})
	.finally(() => rmSync(dir, { recursive: true, force: true }));
