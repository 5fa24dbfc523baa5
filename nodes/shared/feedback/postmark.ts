import { credentialProblem, type WebhookCredential } from './basic-auth';
import { derivedEventId, type FeedbackEvent, type FeedbackReading, type FeedbackRequest } from './model';
import { batchTooLarge, isJsonObject, isoDate, keepIntegerDigits, oneOrMany, parseJson, readBatch, refuse, textOrNumber, type JsonObject, type Meaning } from './payload';

/**
 * Postmark's webhooks: one JSON object per POST, told apart by `RecordType` (Delivery, Bounce,
 * SpamComplaint, Open, Click, SubscriptionChange). Bounces and spam complaints carry the bounce's
 * own `ID` and the recipient in `Email`; the other records carry `Recipient`. Times are ISO 8601
 * with an offset. Postmark does not sign webhooks, so the credential is checked first (see basic-auth).
 * https://postmarkapp.com/developer/webhooks/webhooks-overview
 * https://postmarkapp.com/developer/webhooks/bounce-webhook
 * https://postmarkapp.com/developer/webhooks/subscription-change-webhook
 * https://postmarkapp.com/developer/api/bounce-api#bounce-types
 */

/** Postmark posts one record a request; an array is read too, up to this many. */
export const POSTMARK_MAX_EVENTS = 1000;

/**
 * Reads one Postmark webhook POST. The request must carry the credential's user and password or
 * token: it is refused with 401 otherwise, before the body is read.
 */
export function readPostmark(request: FeedbackRequest, auth: WebhookCredential): FeedbackReading {
	const problem = credentialProblem(request, auth);
	if (problem) return refuse(401, problem);
	// A bounce ID is a 64-bit integer (the documented example is 4323372036854775807): keep its digits.
	const parsed = parseJson(request.body, 'The request body is not JSON: Postmark posts one JSON record', keepIntegerDigits('ID'));
	if (!parsed.ok) return parsed;
	const items = oneOrMany(parsed.value);
	return batchTooLarge(items, POSTMARK_MAX_EVENTS, 'records') ?? readBatch(items, readRecord);
}

/** The field holding each record's time. */
const TIME_FIELD: Record<string, string> = {
	Delivery: 'DeliveredAt',
	Bounce: 'BouncedAt',
	SpamComplaint: 'BouncedAt',
	Open: 'ReceivedAt',
	Click: 'ReceivedAt',
	SubscriptionChange: 'ChangedAt',
};

/** The event, or why it is passed over. */
function readRecord(item: unknown): FeedbackEvent | string {
	if (!isJsonObject(item)) return 'The record is not a JSON object';
	const type = textOrNumber(item.RecordType);
	if (!type) return 'FromFull' in item ? 'A Postmark inbound message, not an event: point the inbound webhook elsewhere' : 'The record has no "RecordType" field';
	const mapped = kindOf(type, item);
	if (typeof mapped === 'string') return mapped;
	// Bounce and SpamComplaint records name the recipient `Email`; the others `Recipient`.
	const emailField = type === 'Bounce' || type === 'SpamComplaint' ? 'Email' : 'Recipient';
	const email = textOrNumber(item[emailField]);
	if (!email) return `The ${type} record has no "${emailField}" field`;
	const timeField = TIME_FIELD[type];
	const at = isoFromOffsetTime(item[timeField]);
	if (!at) return `The ${type} record has no valid "${timeField}" field (ISO 8601 with an offset)`;
	const messageId = textOrNumber(item.MessageID);
	const url = mapped.kind === 'clicked' ? textOrNumber(item.OriginalLink) : undefined;
	const sendKey = isJsonObject(item.Metadata) ? textOrNumber(item.Metadata.rt_key) : undefined;
	const bounceId = type === 'Bounce' || type === 'SpamComplaint' ? textOrNumber(item.ID) : undefined;
	return {
		provider: 'postmark',
		id: bounceId
			? `bounce:${bounceId}`
			: derivedEventId(type, messageId, textOrNumber(item.Type) ?? textOrNumber(item.SuppressionReason), textOrNumber(item[timeField]), email, url),
		kind: mapped.kind,
		email,
		at,
		...(messageId ? { providerMessageId: messageId } : {}),
		...(sendKey ? { sendKey } : {}),
		...(mapped.reason ? { reason: mapped.reason } : {}),
		...(url ? { url } : {}),
	};
}

/** Postmark's times carry an offset (`Z` or `-04:00`); one without would be read in the server's zone. */
function isoFromOffsetTime(value: unknown): string | undefined {
	if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
	return isoDate(value);
}

/** What a Postmark record means for us, or why it changes nothing. */
function kindOf(type: string, raw: JsonObject): Meaning {
	switch (type) {
		case 'Delivery':
			return { kind: 'delivered' };
		case 'Open':
			return { kind: 'opened' };
		case 'Click':
			return { kind: 'clicked' };
		case 'Bounce':
		case 'SpamComplaint':
			return bounceKind(textOrNumber(raw.Type) ?? type, raw);
		case 'SubscriptionChange':
			return subscriptionKind(raw);
		default:
			return `Postmark "${type.slice(0, 40)}" records change nothing here`;
	}
}

/**
 * Postmark's bounce types (bounce-api#bounce-types). Only those that say something about the
 * address count; those about the sender's setup (DMARCPolicy, TemplateRenderingFailed, ...) or
 * that are no failure (AutoResponder, Subscribe, ...) are passed over.
 */
function bounceKind(bounceType: string, raw: JsonObject): Meaning {
	const details = textOrNumber(raw.Details) ?? textOrNumber(raw.Description);
	const reason = details ? `${bounceType}: ${details}` : bounceType;
	switch (bounceType) {
		case 'HardBounce':
			return { kind: 'hard_bounce', reason };
		case 'BadEmailAddress':
			return { kind: 'invalid_address', reason };
		case 'SoftBounce':
		case 'Transient':
		case 'DnsError':
		case 'Blocked':
			return { kind: 'soft_bounce', reason };
		case 'SpamNotification':
			// "Delivered, but blocked by the user or classified as spam": a filter's verdict on the
			// message, not the person's complaint, and Postmark keeps the address active.
			return { kind: 'soft_bounce', reason };
		case 'SpamComplaint':
			return { kind: 'complaint', reason };
		case 'Unsubscribe':
			return { kind: 'unsubscribed', reason };
		case 'ManuallyDeactivated':
			// Someone with access to the Postmark account deactivated the address: a person's decision
			// to stop sending there, which Postmark now enforces; no delivery failure.
			return { kind: 'unsubscribed', reason };
		default:
			return `Postmark bounce type "${bounceType.slice(0, 40)}" says nothing about the address`;
	}
}

/** SuppressSending true: Postmark stopped sending to the address, for SuppressionReason. */
function subscriptionKind(raw: JsonObject): Meaning {
	if (raw.SuppressSending !== true) return 'Postmark SubscriptionChange reactivating the address: no consent given to this package, nothing changes';
	const origin = textOrNumber(raw.Origin);
	const reason = `SubscriptionChange: ${textOrNumber(raw.SuppressionReason) ?? 'no reason'}${origin ? ` (origin ${origin})` : ''}`;
	switch (raw.SuppressionReason) {
		case 'ManualSuppression':
			return { kind: 'unsubscribed', reason };
		case 'HardBounce':
			return { kind: 'hard_bounce', reason };
		case 'SpamComplaint':
			return { kind: 'complaint', reason };
		default:
			return `Postmark SubscriptionChange with SuppressionReason "${String(raw.SuppressionReason ?? '').slice(0, 40)}" is not one this package knows`;
	}
}
