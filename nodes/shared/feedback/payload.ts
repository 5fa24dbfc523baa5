import type { FeedbackEvent, FeedbackKind, FeedbackReading, FeedbackRequest, IgnoredEvent } from './model';

/**
 * What the webhook readers (SendGrid, Mandrill, Postmark, Mailjet, Brevo, SES) and the bounce-email
 * reader do alike with a payload: read its fields, its times and its JSON, refuse it, and read a
 * batch into events and ignored entries. What a provider's events mean stays in its own reader.
 */

/** A JSON object as the provider posted it, its fields not read yet. */
export type JsonObject = Record<string, unknown>;

/** What a provider's event means for us, or (a string) why it changes nothing. */
export type Meaning = { kind: FeedbackKind; reason?: string } | string;

/** A request that is not applied: the 4xx/5xx status and the error answered. */
export type Refusal = Extract<FeedbackReading, { ok: false }>;

/** One shape for every refusal, so that each reader answers them the same way. */
export function refuse(status: number, error: string): Refusal {
	return { ok: false, status, error };
}

/** A request read whole that changes nothing, with why: one ignored entry at index 0. */
export function passedOver(reason: string): FeedbackReading {
	return { ok: true, events: [], ignored: [{ index: 0, reason }] };
}

/** Payloads are checked before their fields are read, so one of the wrong shape is passed over, never thrown on. */
export function isJsonObject(value: unknown): value is JsonObject {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Providers leave a field out, null or empty alike: all read as none. */
export function text(value: unknown): string | undefined {
	return typeof value === 'string' && value !== '' ? value : undefined;
}

/** For providers that send some ids and times as JSON numbers, read as the same text a string would be. */
export function textOrNumber(value: unknown): string | undefined {
	return typeof value === 'string' && value !== '' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
}

/** A time field that is missing or not a number reads as NaN, which the date helpers below turn into none. */
export function numberOrNaN(value: unknown): number {
	return typeof value === 'number' ? value : NaN;
}

/** An unreadable time reads as none, instead of an "Invalid Date" whose toISOString throws. */
export function isoDate(value: string | number | Date): string | undefined {
	const date = new Date(value);
	return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Unix seconds (SendGrid, Mandrill, Mailjet, Brevo's ts_event) as ISO 8601 UTC, or none. */
export function isoFromSeconds(seconds: number): string | undefined {
	return isoDate(seconds * 1000);
}

/** n8n hands a repeated header over as an array, a single one as a string: both read as a list. */
export function headerValues(request: FeedbackRequest, name: string): string[] {
	const value = request.headers[name];
	if (value === undefined) return [];
	return Array.isArray(value) ? value : [value];
}

/** The header a provider sends once (a signature, a timestamp): its first value. */
export function firstHeader(request: FeedbackRequest, name: string): string | undefined {
	return headerValues(request, name)[0];
}

/** The reviver JSON.parse calls with each value, and (Node 21+) the source text of a primitive. */
export type JsonReviver = (key: string, value: unknown, context?: { source?: string }) => unknown;

/** A 64-bit id (beyond 2^53) read as a number would lose its last digits: the field named `key` keeps its source text. */
export function keepIntegerDigits(key: string): JsonReviver {
	return (name, value, context) => (name === key && typeof value === 'number' && context?.source ? context.source : value);
}

/** The payload's JSON, or a 400 whose error (`notJson`) says what the provider posts, so a wrong setup is seen at once. */
export function parseJson(source: Buffer | string, notJson: string, reviver?: JsonReviver): { ok: true; value: unknown } | Refusal {
	try {
		return { ok: true, value: JSON.parse(typeof source === 'string' ? source : source.toString('utf8'), reviver) };
	} catch {
		return refuse(400, notJson);
	}
}

/** Providers that post one event a request, or an array when batching is on: both read as a list. */
export function oneOrMany(body: unknown): unknown[] {
	return Array.isArray(body) ? body : [body];
}

/** A batch beyond what the provider ever posts is refused (413) before any of it is read. */
export function batchTooLarge(items: readonly unknown[], limit: number, noun = 'events'): Refusal | undefined {
	return items.length > limit ? refuse(413, `The request carries ${items.length} ${noun}; the limit is ${limit}`) : undefined;
}

/** One element that cannot be read never refuses the batch: it is ignored with its index and why, the others applied. */
export function readBatch(items: readonly unknown[], readOne: (item: unknown) => FeedbackEvent | string): FeedbackReading {
	const events: FeedbackEvent[] = [];
	const ignored: IgnoredEvent[] = [];
	items.forEach((item, index) => {
		const read = readOne(item);
		if (typeof read === 'string') ignored.push({ index, reason: read });
		else events.push(read);
	});
	return { ok: true, events, ignored };
}
