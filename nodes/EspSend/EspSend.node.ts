import {
	NodeConnectionTypes,
	NodeOperationError,
	type ICredentialDataDecryptedObject,
	type ICredentialsDecrypted,
	type ICredentialTestFunctions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeCredentialTestResult,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { authenticatedCall } from '../shared/authenticatedCall';
import { BrevoSender } from '../shared/delivery/brevo';
import { type EmailInput, type EmailOutcome, type EmailSettings, type MessageContent, sendEmails } from '../shared/delivery/email';
import { MailjetSender } from '../shared/delivery/mailjet';
import { MandrillSender } from '../shared/delivery/mandrill';
import { PostmarkSender } from '../shared/delivery/postmark';
import { SendGridSender } from '../shared/delivery/sendgrid';
import type { EmailSender } from '../shared/delivery/provider';
import { SesSender } from '../shared/delivery/ses';
import { SmtpSender, type SmtpSettings } from '../shared/delivery/smtp';
import { MIN_SECRET_LENGTH } from '../shared/feedback/unsubscribe-token';
import { checkUnsubscribePage } from '../shared/feedbackCredentials';
import { cartOfItem, type PersonKind, personOfItem, personProperties } from '../shared/parameters/personParameters';
import { checkPostgresStore, storeFor, storeProperties } from '../shared/parameters/storeParameters';
import { textParameter } from '../shared/parameters/textParameter';
import { pathValue } from '../shared/segments/evaluate';
import type { RetargetingStore } from '../shared/store/store';

/** Items guarded, reserved and sent together (more when one provider call takes more). */
const BATCH = 500;

function smtpSettings(c: ICredentialDataDecryptedObject): SmtpSettings {
	return {
		host: String(c.host ?? ''),
		port: Number(c.port ?? 587),
		secure: c.secure === true,
		user: c.user ? String(c.user) : undefined,
		password: c.password ? String(c.password) : undefined,
		ignoreSslIssues: c.ignoreSslIssues === true,
	};
}

type Provider = 'smtp' | keyof typeof API_PROVIDERS;

/** The API providers: their credential type and the API they call by default. */
const API_PROVIDERS = {
	brevo: { credential: 'retargetingBrevoApi', url: 'https://api.brevo.com' },
	mailjet: { credential: 'retargetingMailjetApi', url: 'https://api.mailjet.com' },
	mandrill: { credential: 'retargetingMandrillApi', url: 'https://mandrillapp.com' },
	postmark: { credential: 'retargetingPostmarkApi', url: 'https://api.postmarkapp.com' },
	sendgrid: { credential: 'retargetingSendGridApi', url: 'https://api.sendgrid.com' },
	// The SES credential signs each request and knows its region's endpoint.
	ses: { credential: 'retargetingSesApi', url: '' },
} as const;

/** The provider the node is set to, with its credential. */
async function senderFor(ctx: IExecuteFunctions, provider: Provider, campaign: string, options: IDataObject): Promise<EmailSender> {
	if (provider === 'smtp') return new SmtpSender(smtpSettings(await ctx.getCredentials('retargetingSmtpApi')));
	const { credential, url } = API_PROVIDERS[provider];
	const base = String((await ctx.getCredentials(credential)).apiUrl || url).replace(/\/+$/, '');
	const http = authenticatedCall(ctx, credential, base);
	switch (provider) {
		case 'brevo':
			return new BrevoSender(http, { tag: campaign });
		case 'mailjet':
			return new MailjetSender(http, { campaign });
		case 'mandrill':
			return new MandrillSender(http, { tag: campaign });
		case 'postmark':
			return new PostmarkSender(http, { messageStream: String(options.messageStream ?? 'outbound'), tag: campaign });
		case 'ses':
			return new SesSender(http, { configurationSet: String(options.configurationSet ?? ''), campaign });
		default:
			return new SendGridSender(http, { category: campaign });
	}
}

/** The package's unsubscribe page, from its credential, checked once per run. */
async function unsubscribePage(ctx: IExecuteFunctions): Promise<{ publicUrl: string; secret: string }> {
	const c = await ctx.getCredentials<{ publicUrl?: string; secret?: string }>('retargetingUnsubscribeApi');
	const publicUrl = String(c.publicUrl ?? '').trim();
	if (!/^https?:\/\/[^/]+/i.test(publicUrl)) {
		throw new NodeOperationError(ctx.getNode(), 'Unsubscribe Page URL: must be an http(s) link', {
			description: "Set it in the Retargeting Unsubscribe Page credential: your n8n's public URL, /webhook/, and the path of the Email Events Trigger set to Unsubscribe Page.",
		});
	}
	if (String(c.secret ?? '').length < MIN_SECRET_LENGTH) {
		throw new NodeOperationError(ctx.getNode(), `Signing Secret: must be at least ${MIN_SECRET_LENGTH} characters`, {
			description: 'Set it in the Retargeting Unsubscribe Page credential, for example to the output of "openssl rand -hex 32".',
		});
	}
	return { publicUrl, secret: String(c.secret) };
}

export class EspSend implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'ESP Send',
		name: 'espSend',
		icon: { light: 'file:../../icons/esp-send.svg', dark: 'file:../../icons/esp-send.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{$parameter["options"]?.dryRun ? "dry run" : $parameter["provider"]}}',
		description:
			'Send the retargeting email through Amazon SES, Brevo, Mailchimp Transactional, Mailjet, Postmark, SendGrid or SMTP, after consent, suppression, frequency cap and idempotency checks',
		defaults: { name: 'ESP Send' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'retargetingSmtpApi', required: true, testedBy: 'checkSmtp', displayOptions: { show: { provider: ['smtp'] } } },
			{ name: 'retargetingSesApi', required: true, displayOptions: { show: { provider: ['ses'] } } },
			{ name: 'retargetingBrevoApi', required: true, displayOptions: { show: { provider: ['brevo'] } } },
			{ name: 'retargetingMailjetApi', required: true, displayOptions: { show: { provider: ['mailjet'] } } },
			{ name: 'retargetingMandrillApi', required: true, displayOptions: { show: { provider: ['mandrill'] } } },
			{ name: 'retargetingPostmarkApi', required: true, displayOptions: { show: { provider: ['postmark'] } } },
			{ name: 'retargetingSendGridApi', required: true, displayOptions: { show: { provider: ['sendgrid'] } } },
			{ name: 'retargetingUnsubscribeApi', required: true, testedBy: 'checkUnsubscribePage', displayOptions: { show: { unsubscribeLink: ['package'] } } },
			{
				name: 'retargetingPostgresApi',
				required: true,
				testedBy: 'checkPostgresStore',
				displayOptions: { show: { store: ['postgres'] } },
			},
		],
		properties: [
			...storeProperties,
			{
				displayName: 'Provider',
				name: 'provider',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Amazon SES', value: 'ses', description: 'One signed call an email through the Amazon SES API v2' },
					{ name: 'Brevo', value: 'brevo', description: 'Batches of 1,000 message versions through the Brevo transactional email API' },
					{ name: 'Mailchimp Transactional', value: 'mandrill', description: 'One call an email through the Mailchimp Transactional (Mandrill) API' },
					{ name: 'Mailjet', value: 'mailjet', description: 'Batches of 50 through the Mailjet Send API v3.1' },
					{ name: 'Postmark', value: 'postmark', description: 'Batches of 500 through the Postmark API' },
					{ name: 'SendGrid', value: 'sendgrid', description: 'One request an email through the SendGrid v3 API' },
					{ name: 'SMTP', value: 'smtp', description: 'Any SMTP server or relay' },
				],
				default: 'smtp',
			},
			...personProperties,
			{
				displayName: 'From Email',
				name: 'fromEmail',
				type: 'string',
				placeholder: 'shop@example.com',
				default: '',
				required: true,
			},
			{ displayName: 'From Name', name: 'fromName', type: 'string', default: '', placeholder: 'The Shop' },
			{ displayName: 'Reply-To', name: 'replyTo', type: 'string', default: '', placeholder: 'help@example.com' },
			{
				displayName: 'Subject',
				name: 'subject',
				type: 'string',
				default: '{first_name}, your cart is waiting',
				required: true,
				description: 'Template: {name} takes a value, see HTML Body',
			},
			{
				displayName: 'HTML Body',
				name: 'html',
				type: 'string',
				typeOptions: { rows: 8 },
				default:
					'<p>Hello {first_name},</p><p>You left these in your cart:</p>{cart_items}<p><a href="{recovery_url}">Back to your cart</a></p><p style="font-size:12px"><a href="{unsubscribe_url}">Unsubscribe</a></p>',
				required: true,
				description:
					'Template. {first_name}, {recovery_url} (tagged with utm_* and a click ID attribution recognises), {unsubscribe_url}, {cart_items} and {recommendations} (product tables), {step}, {campaign}, and any item field by its path, such as {profile.traits.city}. Every value is HTML-escaped.',
			},
			{
				displayName: 'Text Body',
				name: 'text',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '',
				description: 'The plain-text part. Empty: made from the HTML body.',
			},
			{
				displayName: 'Unsubscribe Link',
				name: 'unsubscribeLink',
				type: 'options',
				options: [
					{
						name: "This Package's Unsubscribe Page",
						value: 'package',
						description: 'A signed link to the Email Events Trigger set to Unsubscribe Page: one click (RFC 8058) or the page withdraws consent in the store',
					},
					{ name: 'My Own Page', value: 'custom', description: 'Your own unsubscribe page; it must record the choice in the store itself' },
				],
				default: 'package',
				description: 'Where the unsubscribe link and the one-click List-Unsubscribe header of each email lead',
			},
			{
				displayName: 'Unsubscribe URL',
				name: 'unsubscribeUrl',
				type: 'string',
				default: '',
				required: true,
				displayOptions: { show: { unsubscribeLink: ['custom'] } },
				placeholder: 'https://shop.example/unsubscribe?p={profile_id}',
				description:
					'Sent as the one-click List-Unsubscribe header (RFC 8058) and as {unsubscribe_url}. {profile_id} and {email} are replaced: your page must check who is asking, or anyone could unsubscribe anyone.',
			},
			{
				displayName: 'Campaign',
				name: 'campaign',
				type: 'string',
				default: '',
				placeholder: 'cart-recovery',
				description: "Recorded with each send and put in utm_campaign. Empty: the workflow's ID.",
			},
			{
				displayName: 'Idempotency Key',
				name: 'idempotencyKey',
				type: 'string',
				default: '',
				placeholder: 'Workflow, cart (else person) and step',
				description:
					'One email per key, ever: a retried execution skips keys already sent. Empty: the workflow ID, the cart (else the person) and the step, read from the fields set below.',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				options: [
					{
						displayName: 'Calls at Once',
						name: 'parallelCalls',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 32 },
						default: 4,
						description:
							"How many calls to the provider may be under way at once. Providers that take one email a call (SendGrid, Mailchimp Transactional, Amazon SES) are bound by each call's round trip. For Amazon SES, stay under the account's maximum send rate; throttled calls are retried.",
					},
					{
						displayName: 'Cart Field',
						name: 'cartField',
						type: 'string',
						default: 'cartId',
						description: 'The item field holding the cart ID',
					},
					{
						displayName: 'Cart Items Field',
						name: 'cartItemsField',
						type: 'string',
						default: 'items',
						description: 'The item field holding the cart lines, for {cart_items}',
					},
					{
						displayName: 'Configuration Set (Amazon SES)',
						name: 'configurationSet',
						type: 'string',
						default: '',
						description: 'The SES configuration set to send with, for event publishing or a dedicated IP pool',
					},
					{
						displayName: 'Currency Field',
						name: 'currencyField',
						type: 'string',
						default: 'currency',
					},
					{
						displayName: 'Dry Run',
						name: 'dryRun',
						type: 'boolean',
						default: false,
						description: 'Whether to only render each email (subject, HTML, text) into the output: nothing is sent or recorded',
					},
					{
						displayName: 'Max Emails per Window',
						name: 'capMax',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: 3,
						description: 'Frequency cap: a person who already got this many emails in the window is skipped. 0: no cap.',
					},
					{
						displayName: 'Message Stream (Postmark)',
						name: 'messageStream',
						type: 'string',
						default: 'outbound',
						description: 'The Postmark message stream; use a broadcast stream for marketing mail if your server has one',
					},
					{
						displayName: 'Recommendations Field',
						name: 'recommendationsField',
						type: 'string',
						default: 'recommendations',
						description: 'The item field holding recommended products, for {recommendations}',
					},
					{
						displayName: 'Recovery URL Field',
						name: 'recoveryUrlField',
						type: 'string',
						default: 'recoveryUrl',
						description: 'The item field holding the link back to the cart, for {recovery_url}',
					},
					{
						displayName: 'Require Explicit Consent',
						name: 'requireExplicitConsent',
						type: 'boolean',
						default: true,
						description: 'Whether the person must have granted email consent. Off: anyone who has not withdrawn it.',
					},
					{
						displayName: 'Step Field',
						name: 'stepField',
						type: 'string',
						default: 'step',
						description: 'The item field holding the sequence step, recorded with the send and put in utm_content',
					},
					{
						displayName: 'Test Address',
						name: 'testAddress',
						type: 'string',
						default: '',
						placeholder: 'qa@example.com',
						description: 'Send every email to this address instead (after the same checks), and record nothing',
					},
					{
						displayName: 'Window (Hours)',
						name: 'capHours',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 24,
						description: 'The frequency cap window',
					},
				],
			},
		],
	};

	methods = {
		credentialTest: {
			checkPostgresStore,
			checkUnsubscribePage,
			async checkSmtp(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
				const sender = new SmtpSender(smtpSettings(credential.data ?? {}));
				try {
					await sender.verify();
					return { status: 'OK', message: 'Connected to the SMTP server' };
				} catch (error) {
					return { status: 'Error', message: `Could not use the SMTP server: ${(error as Error).message}` };
				} finally {
					sender.close();
				}
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const options = this.getNodeParameter('options', 0, {}) as IDataObject;
		const provider = this.getNodeParameter('provider', 0, 'smtp') as Provider;
		const settings = await emailSettings(this, provider, options);
		const fields = itemFields(this, options);
		const store = await storeFor(this);
		const sender = settings.dryRun ? undefined : await senderFor(this, provider, settings.campaign, options);
		const run: SendRun = { store, sender, provider, settings, fields };
		const batchSize = Math.max(BATCH, sender?.maxBatch ?? 0);
		const out: INodeExecutionData[] = [];
		try {
			for (let start = 0; start < items.length; start += batchSize) {
				for (const item of await sendBatch(this, run, items.slice(start, start + batchSize), start)) out.push(item);
			}
		} finally {
			if (sender instanceof SmtpSender) sender.close();
		}
		return [out];
	}
}

/** The item fields the node reads each item's person, step and cart from. */
interface ItemFields {
	kind: PersonKind;
	personField: string;
	stepField: string;
	cartField: string;
	workflowId: string;
}

/** What every batch of one execution is sent with. */
interface SendRun {
	store: RetargetingStore;
	sender: EmailSender | undefined;
	provider: Provider;
	settings: EmailSettings;
	fields: ItemFields;
}

/** The execution's settings, from the node's parameters and options; the unsubscribe page's credential checked once. */
async function emailSettings(ctx: IExecuteFunctions, provider: Provider, options: IDataObject): Promise<EmailSettings> {
	const capMax = Number(options.capMax ?? 3);
	const settings: EmailSettings = {
		campaign: textParameter(ctx, 'campaign', 0) || String(ctx.getWorkflow().id ?? ''),
		source: provider,
		requireExplicitConsent: options.requireExplicitConsent !== false,
		cap: capMax > 0 ? { max: capMax, withinHours: Number(options.capHours ?? 24) } : undefined,
		testAddress: String(options.testAddress ?? '').trim() || undefined,
		dryRun: options.dryRun === true,
		parallelCalls: Number(options.parallelCalls ?? 4),
		fields: {
			cartItems: String(options.cartItemsField ?? 'items'),
			recommendations: String(options.recommendationsField ?? 'recommendations'),
			recoveryUrl: String(options.recoveryUrlField ?? 'recoveryUrl'),
			currency: String(options.currencyField ?? 'currency'),
		},
	};
	if (ctx.getNodeParameter('unsubscribeLink', 0, 'package') === 'package') settings.unsubscribe = await unsubscribePage(ctx);
	return settings;
}

function itemFields(ctx: IExecuteFunctions, options: IDataObject): ItemFields {
	return {
		kind: ctx.getNodeParameter('personIdKind', 0, 'profileId') as PersonKind,
		personField: String(ctx.getNodeParameter('personField', 0, 'profileId')).trim() || 'profileId',
		stepField: String(options.stepField ?? 'step'),
		cartField: String(options.cartField ?? 'cartId'),
		workflowId: String(ctx.getWorkflow().id ?? ''),
	};
}

/** Items guarded, reserved and sent together: each item out with its send's outcome. */
async function sendBatch(ctx: IExecuteFunctions, run: SendRun, batch: INodeExecutionData[], start: number): Promise<INodeExecutionData[]> {
	const { inputs, errors } = readInputs(ctx, run, batch, start);
	const outcomes = await sendOrExplain(ctx, run, inputs.map((x) => x.input));
	const byOffset = new Map(inputs.map((x, k) => [x.offset, outcomes[k]]));
	return batch.map((item, offset) => {
		const send = byOffset.get(offset) ?? { status: 'failed', reason: errors.get(offset) };
		const json: IDataObject = { ...item.json, send: send as unknown as IDataObject };
		if (send.status === 'failed' && ctx.continueOnFail()) json.error = send.reason;
		return { json, pairedItem: { item: start + offset } };
	});
}

/** Each item's message and key; with continue on fail, an item that cannot be read keeps its error instead. */
function readInputs(ctx: IExecuteFunctions, run: SendRun, batch: INodeExecutionData[], start: number) {
	const inputs: Array<{ offset: number; input: EmailInput }> = [];
	const errors = new Map<number, string>();
	batch.forEach((item, offset) => {
		try {
			inputs.push({ offset, input: emailInputOf(ctx, run, item, start + offset) });
		} catch (error) {
			if (!ctx.continueOnFail()) {
				throw error instanceof NodeOperationError ? error : new NodeOperationError(ctx.getNode(), error as Error, { itemIndex: start + offset });
			}
			errors.set(offset, (error as Error).message);
		}
	});
	return { inputs, errors };
}

/** Sends; a provider that cannot be used at all stops the node, naming the credential to check. */
async function sendOrExplain(ctx: IExecuteFunctions, run: SendRun, inputs: EmailInput[]): Promise<EmailOutcome[]> {
	try {
		return await sendEmails(run.store.driver, run.sender, inputs, run.settings);
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message, {
			description: `Check the ${run.provider === 'smtp' ? 'host, port, TLS setting and login of the SMTP' : 'key and API URL of the provider'} credential. What was not sent is not recorded.`,
		});
	}
}

/** The item's message and key, or why it cannot be sent (a setting the marketer must fix). */
function emailInputOf(ctx: IExecuteFunctions, run: SendRun, item: INodeExecutionData, i: number): EmailInput {
	const content = contentOf(ctx, run.settings, i);
	const { kind, personField, stepField, cartField, workflowId } = run.fields;
	const person = personOfItem(item.json, kind, personField);
	const cartId = cartOfItem(item.json, cartField);
	const stepValue = Number(pathValue(item.json, stepField));
	const step = Number.isFinite(stepValue) ? stepValue : null;
	// Default: workflow, cart (else person) and step, from the fields the node is told to read.
	const key = textParameter(ctx, 'idempotencyKey', i) || (person ? [workflowId, cartId ?? `${person.kind}:${person.value}`, step ?? 1].join(':') : '');
	if (!key) {
		throw new NodeOperationError(ctx.getNode(), `The item has no "${personField}" to find the person by`, {
			itemIndex: i,
			description: 'Set "Person Field" to the field that holds the ID, such as profileId or customer.email.',
		});
	}
	return { person, cartId, key, step, values: item.json, content };
}

/** What the item's email says, checked where the marketer can get it wrong. */
function contentOf(ctx: IExecuteFunctions, settings: EmailSettings, i: number): MessageContent {
	const text = (name: string) => textParameter(ctx, name, i);
	const content = {
		from: { email: text('fromEmail'), name: text('fromName') || undefined },
		replyTo: text('replyTo') || undefined,
		subject: String(ctx.getNodeParameter('subject', i, '') ?? ''),
		html: String(ctx.getNodeParameter('html', i, '') ?? ''),
		text: String(ctx.getNodeParameter('text', i, '') ?? ''),
		unsubscribeUrl: settings.unsubscribe ? settings.unsubscribe.publicUrl : text('unsubscribeUrl'),
	};
	if (!/^[^\s@,;<>"]+@[^\s@,;<>"]+$/.test(content.from.email)) {
		throw new NodeOperationError(ctx.getNode(), 'From Email is not an email address', {
			itemIndex: i,
			description: 'Set the address the emails come from, such as shop@example.com.',
		});
	}
	if (!/^https?:\/\//i.test(content.unsubscribeUrl)) {
		throw new NodeOperationError(ctx.getNode(), 'Unsubscribe URL must be an http(s) link', {
			itemIndex: i,
			description: 'Mailbox providers require a one-click unsubscribe link, such as https://shop.example/unsubscribe?p={profile_id}.',
		});
	}
	return content;
}
