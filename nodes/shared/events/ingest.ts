import { attributionParams, CLICK_ID_PARAMS, parseEvent, type FieldError, type IpPolicy, type TrackedEvent } from './model';

/** A problem with a whole request (not one event): answered with its HTTP status, nothing stored. */
export interface RequestProblem {
	ok: false;
	status: number;
	message: string;
}

export type BodyEvents = { ok: true; events: unknown[] } | RequestProblem;

function problem(status: number, message: string): RequestProblem {
	return { ok: false, status, message };
}

export interface IngestLimits {
	/** Bytes of one request body. */
	maxBodyBytes: number;
	/** Events in one request. */
	maxEvents: number;
}

/** Segment's HTTP API limits: 500 KB a batch request; 32 KB an event is checked by parseEvent. */
export const DEFAULT_LIMITS: IngestLimits = { maxBodyBytes: 500 * 1024, maxEvents: 1000 };

/** What the request itself says about the sender, used where an event does not say it. */
export interface RequestFacts {
	ip?: string;
	userAgent?: string;
	/** The browser sent `Sec-GPC: 1` (Global Privacy Control). */
	gpc: boolean;
	/** The browser sent `DNT: 1`. */
	dnt: boolean;
}

export interface PrivacyOptions {
	ipPolicy: IpPolicy;
	/** A Global Privacy Control signal withdraws consent to ad retargeting. */
	honourGpc: boolean;
	/** A Do-Not-Track signal withdraws consent to ad retargeting. */
	honourDnt: boolean;
}

export interface IngestOptions extends PrivacyOptions {
	/** How far after its receipt (clock skew corrected) an event may be dated before it is stored at its receipt time. */
	futureMarginMs: number;
}

export const DEFAULT_FUTURE_MARGIN_MS = 60 * 60 * 1000;

export interface Rejection {
	/** Position of the event in the request (0 for a single event). */
	index: number;
	messageId?: string;
	errors: FieldError[];
}

/** Something changed in a valid event on its way in. */
export interface EventNote {
	index: number;
	messageId: string;
	note: string;
}

export interface IngestReport {
	accepted: number;
	duplicates: number;
	rejected: number;
	rejections: Rejection[];
	/** Absent when there is none, so that an ordinary answer keeps its shape. */
	notes?: EventNote[];
}

export interface IngestResult {
	report: IngestReport;
	/** The events stored by this request (not duplicates), with the profile each belongs to. */
	stored: Array<{ event: TrackedEvent; profileId: string }>;
}

type RawEvent = Record<string, unknown>;

function isObject(value: unknown): value is RawEvent {
	return !!value && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The events one POST body carries: a single event, or a Segment batch `{ "batch": [...] }` whose
 * top-level `context` applies to every event.
 */
export function eventsOfBody(body: string, limits: IngestLimits): BodyEvents {
	const bytes = Buffer.byteLength(body, 'utf8');
	if (bytes > limits.maxBodyBytes) {
		return problem(413, `The request body is ${bytes} bytes; the limit is ${limits.maxBodyBytes} bytes. Send smaller batches.`);
	}
	if (body.trim() === '') return problem(400, 'The request body is empty: send one JSON event or {"batch": [...]}');
	let parsed: unknown;
	try {
		parsed = JSON.parse(body);
	} catch (error) {
		return problem(400, `The request body is not valid JSON (${(error as Error).message})`);
	}
	if (!isObject(parsed)) return problem(400, 'The request body must be a JSON object: one event or {"batch": [...]}');
	let events: unknown[];
	if ('batch' in parsed) {
		if (!Array.isArray(parsed.batch)) return problem(400, 'batch: must be an array of events');
		const shared = isObject(parsed.context) ? parsed.context : undefined;
		const sentAt = typeof parsed.sentAt === 'string' ? parsed.sentAt : undefined;
		events = parsed.batch.map((e) =>
			isObject(e)
				? {
						...(sentAt ? { sentAt } : {}),
						...e,
						...(shared ? { context: { ...shared, ...(isObject(e.context) ? e.context : {}) } } : {}),
					}
				: e,
		);
	} else {
		events = [parsed];
	}
	if (events.length > limits.maxEvents) {
		return problem(413, `The batch holds ${events.length} events; the limit is ${limits.maxEvents} a request. Send smaller batches.`);
	}
	return { ok: true, events };
}

const PIXEL_FIELDS = new Set(['type', 'event', 'name', 'anonymousId', 'userId', 'messageId', 'timestamp', 'writeKey']);

/**
 * The event a pixel hit carries in its query string: `event` (default "Pixel Viewed"), `type`
 * (default track), `anonymousId`, `userId`, `messageId`, `timestamp`; UTM parameters and click ids
 * become the campaign; every other parameter is a property.
 */
export function eventOfQuery(query: Record<string, unknown>): RawEvent {
	const text = (key: string) => (typeof query[key] === 'string' ? (query[key] as string) : undefined);
	const strings = Object.entries(query).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
	const { campaign, clickIds } = attributionParams(new URLSearchParams(strings));
	const properties: Record<string, string> = {};
	for (const [key, value] of strings) {
		const attribution = key.startsWith('utm_') || (CLICK_ID_PARAMS as readonly string[]).includes(key);
		if (!attribution && !PIXEL_FIELDS.has(key)) properties[key] = value;
	}
	const type = text('type') ?? 'track';
	return {
		type,
		...(type === 'track' ? { event: text('event') ?? 'Pixel Viewed' } : {}),
		...(type === 'page' && text('name') ? { name: text('name') } : {}),
		...(text('anonymousId') ? { anonymousId: text('anonymousId') } : {}),
		...(text('userId') ? { userId: text('userId') } : {}),
		...(text('messageId') ? { messageId: text('messageId') } : {}),
		...(text('timestamp') ? { timestamp: text('timestamp') } : {}),
		properties,
		context: {
			...(Object.keys(campaign).length ? { campaign } : {}),
			...(Object.keys(clickIds).length ? { clickIds } : {}),
		},
	};
}

/** The device's time of an event as sent: `timestamp`, or RudderStack's `originalTimestamp` when its SDKs send no timestamp. */
function sentTimestamp(raw: RawEvent): unknown {
	return raw.timestamp === undefined && typeof raw.originalTimestamp === 'string' ? raw.originalTimestamp : raw.timestamp;
}

/**
 * Segment's clock-skew correction: a device whose clock is off stamps `timestamp` and `sentAt` with
 * the same error, so the event happened `sentAt - timestamp` before the server received it.
 * Abandoned-cart steps are timed from these times.
 */
function correctedTimestamp(input: RawEvent, receivedAt: Date): RawEvent {
	const sent = sentTimestamp(input);
	const raw = sent === input.timestamp ? input : { ...input, timestamp: sent };
	if (typeof raw.timestamp !== 'string' || typeof raw.sentAt !== 'string') return raw;
	const timestamp = Date.parse(raw.timestamp);
	const sentAt = Date.parse(raw.sentAt);
	if (!Number.isFinite(timestamp) || !Number.isFinite(sentAt)) return raw;
	return { ...raw, timestamp: new Date(receivedAt.getTime() - (sentAt - timestamp)).toISOString() };
}

/** A time span as a person reads it in a note: 45s, 12min, 2h30min, 4d. */
function roughDuration(ms: number): string {
	const seconds = Math.round(ms / 1000);
	if (seconds < 60) return `${seconds}s`;
	const minutes = Math.round(seconds / 60);
	if (minutes < 60) return `${minutes}min`;
	if (minutes < 48 * 60) return `${Math.floor(minutes / 60)}h${minutes % 60 ? `${minutes % 60}min` : ''}`;
	return `${Math.round(minutes / 1440)}d`;
}

/**
 * A device clock set ahead dates events in the future, where they would hide a cart from the
 * Abandoned Cart Trigger and a person from "dormant" until that time came. Beyond the margin (after
 * skew correction) the event is stored at its receipt time, with the timestamp it was sent with kept.
 */
function withinFutureMargin(event: TrackedEvent, sent: unknown, marginMs: number): { event: TrackedEvent; note?: string } {
	const ahead = Date.parse(event.timestamp) - Date.parse(event.receivedAt);
	if (ahead <= marginMs || typeof sent !== 'string') return { event };
	return {
		event: { ...event, timestamp: event.receivedAt, originalTimestamp: sent },
		note: `timestamp in the future by ${roughDuration(ahead)}; stored at receipt time`,
	};
}

/** Fills the IP and user agent from the request, and applies the browser's privacy signals. */
function withRequestFacts(input: unknown, facts: RequestFacts, privacy: PrivacyOptions, receivedAt: Date): unknown {
	if (!isObject(input)) return input;
	const raw = correctedTimestamp(input, receivedAt);
	const context: RawEvent = isObject(raw.context) ? { ...raw.context } : {};
	if (context.ip === undefined && facts.ip) context.ip = facts.ip;
	if (context.userAgent === undefined && facts.userAgent) context.userAgent = facts.userAgent;
	const gpc = privacy.honourGpc && (facts.gpc || context.gpc === true);
	if (gpc || (privacy.honourDnt && facts.dnt)) {
		context.consent = { ...(isObject(context.consent) ? context.consent : {}), ads: false };
		context.consentSource = gpc ? 'gpc' : 'dnt';
	}
	return { ...raw, context };
}

/**
 * Without consent to analytics an event keeps only what records that choice: its type, name, ids,
 * time and consent. Nothing about what the person looked at or bought is stored.
 */
function withoutBehaviour(event: TrackedEvent): TrackedEvent {
	if (event.context.consent?.analytics !== false) return event;
	return { ...event, properties: {}, context: { consent: event.context.consent } };
}

/** What the store reports of one append. */
export interface AppendResult {
	stored: Array<{ messageId: string; profileId: string }>;
	/** messageIds already stored (or repeated within the batch): nothing was changed for them. */
	duplicates: string[];
}

/** Where ingest stores events; declared here so that events need nothing from the store. */
export interface EventStore {
	appendEvents(events: TrackedEvent[]): Promise<AppendResult>;
}

/**
 * Validates every event of a request, stores the valid ones in one append (dedup, identity,
 * carts) and reports what was accepted, what was a duplicate, what was rejected and why, and
 * what was changed on the way in. An invalid event never costs the valid ones beside it.
 */
export async function ingest(
	store: EventStore,
	rawEvents: unknown[],
	facts: RequestFacts,
	options: IngestOptions,
	receivedAt = new Date(),
): Promise<IngestResult> {
	const valid: TrackedEvent[] = [];
	const rejections: Rejection[] = [];
	const notes: EventNote[] = [];
	rawEvents.forEach((raw, index) => {
		const result = parseEvent(withRequestFacts(raw, facts, options, receivedAt), { receivedAt, ipPolicy: options.ipPolicy });
		if (!result.ok) {
			rejections.push({ index, ...(result.messageId ? { messageId: result.messageId } : {}), errors: result.errors });
			return;
		}
		const { event, note } = withinFutureMargin(result.event, isObject(raw) ? sentTimestamp(raw) : undefined, options.futureMarginMs);
		valid.push(withoutBehaviour(event));
		if (note) notes.push({ index, messageId: event.messageId, note });
	});
	const appended = valid.length ? await store.appendEvents(valid) : { stored: [], duplicates: [] };
	const byId = new Map<string, TrackedEvent>();
	for (const event of valid) if (!byId.has(event.messageId)) byId.set(event.messageId, event);
	return {
		report: {
			accepted: appended.stored.length,
			duplicates: appended.duplicates.length,
			rejected: rejections.length,
			rejections,
			...(notes.length ? { notes } : {}),
		},
		stored: appended.stored.map(({ messageId, profileId }) => ({ event: byId.get(messageId) as TrackedEvent, profileId })),
	};
}

/** The choices of "Start the Workflow On" that are not event names. */
export const ANY_EVENT = '*';

/**
 * Whether a stored event starts an execution: its track name or its call type (identify, page,
 * alias, group) is among the selected ones, or any event is selected.
 */
export function startsExecution(event: TrackedEvent, selected: ReadonlySet<string>): boolean {
	if (selected.has(ANY_EVENT) || selected.has(event.type)) return true;
	return event.type === 'track' && event.event !== null && selected.has(event.event);
}
