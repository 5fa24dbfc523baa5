import { randomUUID } from 'node:crypto';

import { z } from 'zod';

import { CALL_TYPES, canonicalEventName, isSpecEvent, type CallType } from './vocabulary';

/** Segment's limit for one event. */
export const MAX_EVENT_BYTES = 32 * 1024;

/** What is kept of the sender's IP address: all of it, the network part only, or nothing. */
export type IpPolicy = 'keep' | 'truncate' | 'drop';

export const CONSENT_PURPOSES = ['email', 'ads', 'analytics'] as const;
export type ConsentPurpose = (typeof CONSENT_PURPOSES)[number];
export type Consent = Partial<Record<ConsentPurpose, boolean>>;

/** Ad click ids, and rt_cid: the click id ESP Send puts on its links, so attribution sees email clicks. */
export const CLICK_ID_PARAMS = ['gclid', 'gbraid', 'wbraid', 'dclid', 'fbclid', 'msclkid', 'ttclid', 'li_fat_id', 'rt_cid'] as const;
const UTM_FIELDS = ['source', 'medium', 'name', 'term', 'content'] as const;

export interface EventContext {
	page?: { url?: string; path?: string; referrer?: string; title?: string };
	/** UTM fields, as Segment's `context.campaign`: utm_campaign is `name`. */
	campaign?: Partial<Record<(typeof UTM_FIELDS)[number], string>>;
	clickIds?: Partial<Record<(typeof CLICK_ID_PARAMS)[number], string>>;
	userAgent?: string;
	ip?: string;
	locale?: string;
	timezone?: string;
	consent?: Consent;
	/** What set `consent`, for the consent log: `gpc`, `dnt`, `profile-node`, ...; else the tracker. */
	consentSource?: string;
	/** Global Privacy Control, as the browser reported it. */
	gpc?: boolean;
}

/** An event as the store keeps it. */
export interface TrackedEvent {
	messageId: string;
	type: CallType;
	/** The track event's name (spec spelling for e-commerce events), or the page's name. */
	event: string | null;
	anonymousId: string | null;
	userId: string | null;
	/** alias: the id being merged into userId. */
	previousId: string | null;
	/** group: the account or company id. */
	groupId: string | null;
	timestamp: string;
	/**
	 * The timestamp as sent, kept only when it was too far in the future and `timestamp` became the
	 * receipt time (Segment's name for the device's time).
	 */
	originalTimestamp?: string;
	receivedAt: string;
	properties: Record<string, unknown>;
	traits: Record<string, unknown>;
	context: EventContext;
}

export interface FieldError {
	field: string;
	reason: string;
}

export type ParseResult =
	| { ok: true; event: TrackedEvent }
	| { ok: false; messageId?: string; errors: FieldError[] };

export interface ParseOptions {
	receivedAt?: Date;
	ipPolicy?: IpPolicy;
}

const id = z.union([z.string().trim().min(1).max(200), z.number().finite()]).transform(String);
const isoDate = z
	.string()
	.max(40)
	.refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO 8601 date-time');
const money = z.number({ invalid_type_error: 'must be a number' }).finite();
const count = z.number({ invalid_type_error: 'must be a number' }).int('must be a whole number').min(0);

const product = z
	.object({
		product_id: id.optional(),
		sku: id.optional(),
		name: z.string().max(500).optional(),
		price: money.optional(),
		quantity: count.optional(),
		url: z.string().max(2000).optional(),
		image_url: z.string().max(2000).optional(),
	})
	.passthrough();

/** Types of the e-commerce v2 properties that flows compute with (cart value, revenue, items). */
const ecommerceProperties = z
	.object({
		order_id: id.optional(),
		cart_id: id.optional(),
		checkout_id: id.optional(),
		product_id: id.optional(),
		products: z.array(product).max(500).optional(),
		price: money.optional(),
		quantity: count.optional(),
		value: money.optional(),
		revenue: money.optional(),
		total: money.optional(),
		subtotal: money.optional(),
		discount: money.optional(),
		currency: z
			.string()
			.regex(/^[A-Za-z]{3}$/, 'must be a three-letter ISO 4217 code such as EUR')
			.optional(),
	})
	.passthrough();

const consent = z.object(
	Object.fromEntries(CONSENT_PURPOSES.map((p) => [p, z.boolean().optional()])) as Record<
		ConsentPurpose,
		z.ZodOptional<z.ZodBoolean>
	>,
);

const shortText = z.string().max(2000);
const context = z
	.object({
		page: z
			.object({ url: shortText, path: shortText, referrer: shortText, title: shortText })
			.partial()
			.passthrough()
			.optional(),
		campaign: z.object(Object.fromEntries(UTM_FIELDS.map((f) => [f, z.string().max(500)]))).partial().optional(),
		userAgent: z.string().max(1000).optional(),
		ip: z.string().max(64).optional(),
		locale: z.string().max(40).optional(),
		timezone: z.string().max(64).optional(),
		consent: consent.optional(),
		consentSource: z.string().max(100).optional(),
		gpc: z.boolean().optional(),
	})
	.passthrough();

const rawEvent = z
	.object({
		type: z.enum(CALL_TYPES, {
			errorMap: () => ({ message: `must be one of ${CALL_TYPES.join(', ')}` }),
		}),
		messageId: z.string().trim().min(1).max(200).optional(),
		anonymousId: id.nullish(),
		userId: id.nullish(),
		previousId: id.optional(),
		groupId: id.optional(),
		event: z.string().trim().min(1, 'must not be empty').max(200).optional(),
		name: z.string().max(200).optional(),
		timestamp: isoDate.optional(),
		properties: z.record(z.unknown()).optional(),
		traits: z.record(z.unknown()).optional(),
		context: context.optional(),
	})
	.passthrough()
	.superRefine((e, ctx) => {
		const need = (field: string, reason: string) => ctx.addIssue({ code: 'custom', path: [field], message: reason });
		if (!e.anonymousId && !e.userId && e.type !== 'alias') need('userId', 'an event needs an anonymousId or a userId');
		if (e.type === 'track' && !e.event) need('event', 'a track call needs the event name');
		if (e.type === 'alias') {
			if (!e.previousId) need('previousId', 'an alias call needs the previousId it merges');
			if (!e.userId) need('userId', 'an alias call needs the userId it merges into');
		}
		if (e.type === 'group' && !e.groupId) need('groupId', 'a group call needs the groupId');
		if (e.type === 'track' && e.event && isSpecEvent(e.event) && e.properties) {
			const checked = ecommerceProperties.safeParse(e.properties);
			if (!checked.success) {
				for (const issue of checked.error.issues) {
					ctx.addIssue({ ...issue, path: ['properties', ...issue.path] } as z.IssueData);
				}
			}
		}
	});

function fieldPath(path: Array<string | number>): string {
	return path.reduce<string>(
		(acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part),
		'',
	);
}

/** Keeps the network part of an address: /24 for IPv4, /48 for IPv6. */
export function truncateIp(ip: string): string {
	if (ip.includes(':')) {
		const groups = ip.split('::')[0].split(':').filter(Boolean).slice(0, 3);
		return `${groups.join(':')}::`;
	}
	const octets = ip.split('.');
	return octets.length === 4 ? `${octets.slice(0, 3).join('.')}.0` : '';
}

function queryParams(url: string | undefined): URLSearchParams | undefined {
	if (!url) return undefined;
	try {
		return new URL(url).searchParams;
	} catch {
		return undefined;
	}
}

/** The UTM fields (utm_campaign as `name`, as Segment's `context.campaign`) and click ids in URL parameters. */
export function attributionParams(params: URLSearchParams): Required<Pick<EventContext, 'campaign' | 'clickIds'>> {
	const campaign: EventContext['campaign'] = {};
	for (const field of UTM_FIELDS) {
		const value = params.get(field === 'name' ? 'utm_campaign' : `utm_${field}`);
		if (value) campaign[field] = value;
	}
	const clickIds: EventContext['clickIds'] = {};
	for (const param of CLICK_ID_PARAMS) {
		const value = params.get(param);
		if (value) clickIds[param] = value;
	}
	return { campaign, clickIds };
}

/** Fills UTM fields and click ids from the page URL where the sender did not set them. */
function attributionContext(ctx: EventContext): EventContext {
	const params = queryParams(ctx.page?.url);
	if (!params) return ctx;
	const found = attributionParams(params);
	const campaign = { ...ctx.campaign };
	for (const [field, value] of Object.entries(found.campaign) as Array<[keyof typeof campaign, string]>) {
		if (!campaign[field]) campaign[field] = value.slice(0, 500);
	}
	const clickIds = { ...ctx.clickIds };
	for (const [param, value] of Object.entries(found.clickIds) as Array<[keyof typeof clickIds, string]>) {
		if (!clickIds[param]) clickIds[param] = value.slice(0, 500);
	}
	return {
		...ctx,
		...(Object.keys(campaign).length ? { campaign } : {}),
		...(Object.keys(clickIds).length ? { clickIds } : {}),
	};
}

/** The path of the first string (value or key) holding a NUL character, which PostgreSQL cannot store. */
function nulPath(value: unknown, path: Array<string | number> = []): Array<string | number> | undefined {
	if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
	if (!value || typeof value !== 'object') return undefined;
	for (const [key, child] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
		if (typeof key === 'string' && key.includes('\u0000')) return [...path, key];
		const found = nulPath(child, [...path, key]);
		if (found) return found;
	}
	return undefined;
}

/**
 * Validates one incoming event (a Segment Spec call) and returns it in the stored shape, or every
 * problem found, each naming the field and the reason.
 */
export function parseEvent(input: unknown, options: ParseOptions = {}): ParseResult {
	const messageId =
		input && typeof input === 'object' && typeof (input as { messageId?: unknown }).messageId === 'string'
			? (input as { messageId: string }).messageId
			: undefined;
	if (!input || typeof input !== 'object' || Array.isArray(input)) {
		return { ok: false, errors: [{ field: '(event)', reason: 'must be a JSON object' }] };
	}
	const size = Buffer.byteLength(JSON.stringify(input), 'utf8');
	if (size > MAX_EVENT_BYTES) {
		return {
			ok: false,
			messageId,
			errors: [{ field: '(event)', reason: `is ${size} bytes; the limit is ${MAX_EVENT_BYTES} bytes` }],
		};
	}
	const nul = nulPath(input);
	if (nul) {
		return { ok: false, messageId, errors: [{ field: fieldPath(nul) || '(event)', reason: 'must not contain the NUL character (\\u0000)' }] };
	}
	const parsed = rawEvent.safeParse(input);
	if (!parsed.success) {
		return {
			ok: false,
			messageId,
			errors: parsed.error.issues.map((issue) => ({ field: fieldPath(issue.path) || '(event)', reason: issue.message })),
		};
	}
	const raw = parsed.data;
	const receivedAt = (options.receivedAt ?? new Date()).toISOString();
	let ctx: EventContext = attributionContext((raw.context ?? {}) as EventContext);
	const ipPolicy = options.ipPolicy ?? 'truncate';
	if (ctx.ip !== undefined) {
		const { ip, ...rest } = ctx;
		ctx = ipPolicy === 'drop' ? rest : { ...rest, ip: ipPolicy === 'truncate' ? truncateIp(ip) : ip };
	}
	return {
		ok: true,
		event: {
			messageId: raw.messageId ?? randomUUID(),
			type: raw.type,
			event: raw.type === 'track' ? canonicalEventName(raw.event ?? '') : raw.type === 'page' ? (raw.name ?? null) : null,
			anonymousId: raw.anonymousId ?? null,
			userId: raw.userId ?? null,
			previousId: raw.previousId ?? null,
			groupId: raw.groupId ?? null,
			timestamp: raw.timestamp ? new Date(raw.timestamp).toISOString() : receivedAt,
			receivedAt,
			properties: raw.properties ?? {},
			traits: raw.traits ?? {},
			context: ctx,
		},
	};
}
