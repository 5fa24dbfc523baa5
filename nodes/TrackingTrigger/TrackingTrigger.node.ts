import {
	NodeConnectionTypes,
	type ICredentialsDecrypted,
	type ICredentialTestFunctions,
	type IDataObject,
	type INodeCredentialTestResult,
	type INodeType,
	type INodeTypeDescription,
	type IWebhookDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import {
	ANY_EVENT,
	DEFAULT_FUTURE_MARGIN_MS,
	DEFAULT_LIMITS,
	eventOfQuery,
	eventsOfBody,
	ingest,
	startsExecution,
	type BodyEvents,
	type IngestResult,
	type RequestProblem,
} from '../shared/events/ingest';
import type { IpPolicy } from '../shared/events/model';
import { canonicalEventName } from '../shared/events/vocabulary';
import { originAllowed, parseOrigins } from '../shared/origins';
import { checkPostgresStore, isStoreSetupError, storeFor, storeProperties } from '../shared/parameters/storeParameters';
import { basicAuthUser, secretsMatch, SIGNATURE_HEADER, signatureProblem, writeKeyProblem } from '../shared/secrets';
import { servedByN8n } from '../shared/servedWebhooks';
import { type SourceCredential, sourceCredential } from './sourceCredential';
import { NO_CACHE, trackerScript, TRANSPARENT_GIF } from './tracker';

/**
 * The batch path of Segment's HTTP Tracking API, where Segment's and RudderStack's server libraries
 * send. Segment's per-call paths (/v1/track, ...) are left out on purpose: n8n works out every
 * webhook path of the node, an expression each, on every request; in the ingest benchmark the six
 * per-call paths cost about a tenth of the one-event rate. A call sent to the main path with its
 * `type` is the same.
 */
const SEGMENT_BATCH_PATH = '/v1/batch';

const webhook = (httpMethod: 'GET' | 'POST', suffix = ''): IWebhookDescription => ({
	name: 'default',
	httpMethod,
	responseMode: 'onReceived',
	path: `={{$parameter["path"]}}${suffix}`,
	isFullPath: true,
});

interface TriggerOptions {
	ipPolicy?: IpPolicy;
	honourGpc?: boolean;
	honourDnt?: boolean;
	maxBodyKb?: number;
	maxEvents?: number;
	futureMarginMinutes?: number;
}

export class TrackingTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Tracking Trigger',
		name: 'trackingTrigger',
		icon: { light: 'file:../../icons/tracking-trigger.svg', dark: 'file:../../icons/tracking-trigger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{"/webhook/" + $parameter["path"]}}',
		description:
			'Collects tracking events from websites, apps, servers and pixels, stores them, and starts the workflow for the events you choose',
		defaults: {
			name: 'Tracking Trigger',
		},
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'retargetingTrackingApi', required: true, testedBy: 'checkWriteKey' },
			{
				name: 'retargetingPostgresApi',
				required: true,
				testedBy: 'checkPostgresStore',
				displayOptions: { show: { store: ['postgres'] } },
			},
		],
		webhooks: [
			webhook('POST'),
			webhook('POST', SEGMENT_BATCH_PATH),
			webhook('GET'),
			webhook('GET', '/tracker.js'),
		],
		properties: [
			{
				displayName: 'Path',
				name: 'path',
				type: 'string',
				default: 'track',
				required: true,
				placeholder: 'track',
				description:
					'The end of the collection URL, which is your n8n URL followed by /webhook/ and this path. POST events there (or to path/v1/batch, as Segment libraries do), GET it as a pixel, and load path/tracker.js on your pages. Give each workflow its own path.',
			},
			{
				displayName: 'Start the Workflow On',
				name: 'triggerOn',
				type: 'multiOptions',
				options: [
					{ name: 'Any Event', value: ANY_EVENT, description: 'Every stored event starts the workflow' },
					{ name: 'Cart Viewed', value: 'Cart Viewed' },
					{ name: 'Checkout Started', value: 'Checkout Started' },
					{ name: 'Consent Updated', value: 'Consent Updated', description: 'Sent by tracker.js when a visitor changes consent' },
					{ name: 'Group (Account)', value: 'group' },
					{ name: 'Identify', value: 'identify', description: 'A visitor logs in, signs up or leaves an email' },
					{ name: 'Order Completed', value: 'Order Completed' },
					{ name: 'Page Viewed', value: 'page' },
					{ name: 'Product Added', value: 'Product Added' },
					{ name: 'Product Removed', value: 'Product Removed' },
					{ name: 'Product Viewed', value: 'Product Viewed' },
				],
				default: ['Checkout Started', 'Order Completed', 'identify'],
				description:
					'Which stored events start an execution. Every valid event is stored either way; the others are only collected, for segments and carts, and cost no execution. The matching events of one request become one execution with one item each.',
			},
			{
				displayName: 'Custom Events',
				name: 'customEvents',
				type: 'string',
				default: '',
				placeholder: 'Wishlist Added, Quote Requested',
				description: 'More track event names that start the workflow, separated by commas',
			},
			...storeProperties,
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Future Timestamp Margin (Minutes)',
						name: 'futureMarginMinutes',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: 60,
						description:
							'How far in the future an event\'s date may be. A visitor whose device clock is set ahead sends dates that have not happened yet, which would keep their cart out of the abandoned-cart emails and them out of "dormant" until then. Such an event is stored at the time it arrived; the date it came with is kept as originalTimestamp and the answer to the sender notes it.',
					},
					{
						displayName: 'Honour Do Not Track',
						name: 'honourDnt',
						type: 'boolean',
						default: false,
						description: 'Whether a browser\'s "DNT: 1" header withdraws the visitor\'s consent to ad retargeting',
					},
					{
						displayName: 'Honour Global Privacy Control',
						name: 'honourGpc',
						type: 'boolean',
						default: true,
						description:
							'Whether a Global Privacy Control signal (Sec-GPC header, or navigator.globalPrivacyControl in tracker.js) withdraws the visitor\'s consent to ad retargeting. Required by law in some US states.',
					},
					{
						displayName: 'IP Address',
						name: 'ipPolicy',
						type: 'options',
						options: [
							{ name: 'Truncate', value: 'truncate', description: 'Keep the network only (/24 for IPv4, /48 for IPv6)' },
							{ name: 'Keep', value: 'keep', description: 'Keep the full address' },
							{ name: 'Drop', value: 'drop', description: 'Keep no address' },
						],
						default: 'truncate',
						description: 'What is stored of the sender\'s IP address',
					},
					{
						displayName: 'Max Events per Request',
						name: 'maxEvents',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 1000,
						description: 'A larger batch is refused with 413 and nothing of it is stored',
					},
					{
						displayName: 'Max Request Size (KB)',
						name: 'maxBodyKb',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 500,
						description: 'A larger request is refused with 413. One event is limited to 32 KB in any case.',
					},
				],
			},
		],
	};

	methods = {
		credentialTest: {
			async checkWriteKey(
				this: ICredentialTestFunctions,
				credential: ICredentialsDecrypted,
			): Promise<INodeCredentialTestResult> {
				const problem = writeKeyProblem(String(credential.data?.writeKey ?? ''));
				return problem
					? { status: 'Error', message: problem }
					: { status: 'OK', message: 'The write key is usable' };
			},
			checkPostgresStore,
		},
	};

	webhookMethods = servedByN8n;

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const req = this.getRequestObject();
		const res = this.getResponseObject();
		const credentials = await sourceCredential(this);
		const options = this.getNodeParameter('options', {}) as TriggerOptions;
		const done: IWebhookResponseData = { noWebhookResponse: true };
		const reply = (status: number, body: IDataObject): IWebhookResponseData => {
			res.status(status).json(body);
			return done;
		};

		const refused = originRefusal(this, credentials);
		if (refused) return reply(403, { error: refused });
		const isPixel = req.method === 'GET';
		if (isPixel && req.path.endsWith('/tracker.js')) {
			serveTracker(this, options);
			return done;
		}
		if (!writeKeyPresented(this, credentials)) {
			res.set('WWW-Authenticate', 'Basic realm="retargeting"');
			return reply(401, { error: 'Unauthorized: send the source write key as the Basic auth user name or the writeKey query parameter' });
		}
		const received = isPixel ? pixelEvents(this, credentials) : await bodyEvents(this, credentials, options);
		if (!received.ok) return reply(received.status, { error: received.message });
		const result = await storeEvents(this, received.events, options);
		if (!result.ok) return reply(result.status, { error: result.message });

		if (isPixel) {
			res.status(200).set({ 'Content-Type': 'image/gif', ...NO_CACHE }).end(TRANSPARENT_GIF);
		} else {
			const { report } = result;
			const status = report.accepted + report.duplicates === 0 && report.rejected > 0 ? 400 : 200;
			reply(status, { ...report, rejections: report.rejections as unknown as IDataObject[] });
		}
		const selected = selectedEvents(this, result.stored);
		if (selected.length === 0) return done;
		return {
			...done,
			workflowData: [selected.map(({ event, profileId }) => ({ json: { ...event, profileId } as unknown as IDataObject }))],
		};
	}
}

/** Why the request's origin may not send events, or undefined; an allowed browser origin gets its CORS headers. */
function originRefusal(ctx: IWebhookFunctions, credentials: SourceCredential): string | undefined {
	const { origin: header } = ctx.getRequestObject().headers;
	const origin = typeof header === 'string' ? header : undefined;
	if (!originAllowed(origin, parseOrigins(credentials.allowedOrigins ?? ''))) return `The origin ${origin} is not among this source's allowed origins`;
	if (origin) ctx.getResponseObject().set({ 'Access-Control-Allow-Origin': origin, Vary: 'Origin' });
	return undefined;
}

function serveTracker(ctx: IWebhookFunctions, options: TriggerOptions): void {
	ctx
		.getResponseObject()
		.status(200)
		.set({ 'Content-Type': 'application/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=300' })
		.send(trackerScript({ gpc: options.honourGpc !== false }));
}

/** Whether the request carries the source's write key, as the Basic auth user name or the writeKey query parameter. */
function writeKeyPresented(ctx: IWebhookFunctions, credentials: SourceCredential): boolean {
	const req = ctx.getRequestObject();
	const queryKey = typeof req.query.writeKey === 'string' ? req.query.writeKey : undefined;
	return secretsMatch(basicAuthUser(req.headers.authorization) ?? queryKey ?? '', credentials.writeKey);
}

/** A pixel hit's one event, from its query string. */
function pixelEvents(ctx: IWebhookFunctions, credentials: SourceCredential): BodyEvents {
	if (credentials.hmacSecret) {
		return { ok: false, status: 401, message: 'This source accepts signed requests only, and a pixel hit cannot be signed: use a source without an HMAC secret for pixels' };
	}
	return { ok: true, events: [eventOfQuery(ctx.getRequestObject().query as Record<string, unknown>)] };
}

/** A POST's events, its signature checked first when the source has an HMAC secret. */
async function bodyEvents(ctx: IWebhookFunctions, credentials: SourceCredential, options: TriggerOptions): Promise<BodyEvents> {
	const req = ctx.getRequestObject();
	if (!req.rawBody) await req.readRawBody();
	const body = req.rawBody ?? Buffer.alloc(0);
	if (credentials.hmacSecret) {
		const header = req.headers[SIGNATURE_HEADER];
		const problem = signatureProblem(typeof header === 'string' ? header : undefined, body, credentials.hmacSecret);
		if (problem) return { ok: false, status: 401, message: problem };
	}
	const limits = {
		maxBodyBytes: Math.round((options.maxBodyKb ?? DEFAULT_LIMITS.maxBodyBytes / 1024) * 1024),
		maxEvents: options.maxEvents ?? DEFAULT_LIMITS.maxEvents,
	};
	return eventsOfBody(body.toString('utf8'), limits);
}

/** The events validated, deduplicated and stored; a store that fails keeps none, and the sender is told to retry. */
async function storeEvents(ctx: IWebhookFunctions, rawEvents: unknown[], options: TriggerOptions): Promise<({ ok: true } & IngestResult) | RequestProblem> {
	const req = ctx.getRequestObject();
	try {
		const result = await ingest(
			await storeFor(ctx),
			rawEvents,
			{
				ip: req.ip,
				userAgent: req.headers['user-agent'],
				gpc: req.headers['sec-gpc'] === '1',
				dnt: req.headers.dnt === '1',
			},
			{
				ipPolicy: options.ipPolicy ?? 'truncate',
				honourGpc: options.honourGpc !== false,
				honourDnt: options.honourDnt === true,
				futureMarginMs: (options.futureMarginMinutes ?? DEFAULT_FUTURE_MARGIN_MS / 60_000) * 60_000,
			},
		);
		return { ok: true, ...result };
	} catch (error) {
		ctx.logger.error('Tracking Trigger: the retargeting store could not save a request', { error: (error as Error).message });
		if (isStoreSetupError(error)) return { ok: false, status: 500, message: (error as Error).message };
		return { ok: false, status: 503, message: 'The events could not be stored, and none of them was kept. Send them again later.' };
	}
}

/** The stored events of the types the trigger starts an execution on: Trigger On and the custom events. */
function selectedEvents(ctx: IWebhookFunctions, stored: IngestResult['stored']): IngestResult['stored'] {
	const selection = new Set<string>(ctx.getNodeParameter('triggerOn', []) as string[]);
	for (const name of String(ctx.getNodeParameter('customEvents', '')).split(',')) {
		if (name.trim()) selection.add(canonicalEventName(name.trim()));
	}
	return stored.filter(({ event }) => startsExecution(event, selection));
}
