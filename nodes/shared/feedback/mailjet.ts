import { credentialProblem, type WebhookCredential } from './basic-auth';
import { derivedEventId, type FeedbackEvent, type FeedbackReading, type FeedbackRequest } from './model';
import { batchTooLarge, isJsonObject, isoFromSeconds, keepIntegerDigits, numberOrNaN, oneOrMany, parseJson, readBatch, refuse, textOrNumber, type JsonObject, type Meaning } from './payload';

/**
 * Mailjet's Event API: a JSON array of events when "group events" is on, else one event object a
 * POST. Each has `event` (sent, open, click, bounce, blocked, spam, unsub), `time` (Unix seconds),
 * `email`, `MessageID` (a 64-bit integer), `Message_GUID`, `CustomID` and, for bounce and blocked,
 * `error_related_to` and `error`. Mailjet does not sign its webhooks, so the credential is checked
 * first (see basic-auth).
 * https://dev.mailjet.com/email/guides/webhooks/
 */

export const MAILJET_MAX_EVENTS = 1000;

/**
 * Reads one Mailjet Event API POST. The request must carry the credential's user and password or
 * token: it is refused with 401 otherwise, before the body is read.
 */
export function readMailjet(request: FeedbackRequest, auth: WebhookCredential): FeedbackReading {
	const problem = credentialProblem(request, auth);
	if (problem) return refuse(401, problem);
	// MessageID is beyond 2^53 (19421777835146490): read as a number it would lose its last digits.
	const parsed = parseJson(request.body, 'The request body is not JSON: Mailjet posts one JSON event or an array of them', keepIntegerDigits('MessageID'));
	if (!parsed.ok) return parsed;
	const items = oneOrMany(parsed.value);
	return batchTooLarge(items, MAILJET_MAX_EVENTS) ?? readBatch(items, readEvent);
}

/** The event, or why it is passed over. */
function readEvent(raw: unknown): FeedbackEvent | string {
	if (!isJsonObject(raw)) return 'The event is not a JSON object';
	const type = textOrNumber(raw.event);
	if (!type) return 'The event has no "event" field';
	const mapped = kindOf(type, raw);
	if (typeof mapped === 'string') return mapped;
	const email = textOrNumber(raw.email);
	if (!email) return `The "${type}" event has no "email" field`;
	const seconds = numberOrNaN(raw.time);
	const at = isoFromSeconds(seconds);
	if (!at) return `The "${type}" event has no valid "time" field (Unix seconds)`;
	const messageId = textOrNumber(raw.MessageID);
	// Message_GUID is the send API's MessageUUID, which the sender records: a string, exact where MessageID may not survive JSON.
	const guid = textOrNumber(raw.Message_GUID);
	const url = mapped.kind === 'clicked' ? textOrNumber(raw.url) : undefined;
	const sendKey = textOrNumber(raw.CustomID);
	return {
		provider: 'mailjet',
		id: derivedEventId(type, messageId, seconds, email, url),
		kind: mapped.kind,
		email,
		at,
		...(guid || messageId ? { providerMessageId: guid || messageId } : {}),
		...(sendKey ? { sendKey } : {}),
		...(mapped.reason ? { reason: mapped.reason } : {}),
		...(url ? { url } : {}),
	};
}

/** What a Mailjet event means for us, or why it changes nothing. */
function kindOf(type: string, raw: JsonObject): Meaning {
	switch (type) {
		case 'sent':
			// Mailjet's "sent" is the receiving server's acceptance: what the others call delivered.
			return { kind: 'delivered' };
		case 'open':
			return { kind: 'opened' };
		case 'click':
			return { kind: 'clicked' };
		case 'bounce':
			return bounceKind(raw);
		case 'blocked':
			return blockedKind(raw);
		case 'spam':
			return { kind: 'complaint', ...(textOrNumber(raw.source) ? { reason: `spam report (${textOrNumber(raw.source)})` } : {}) };
		case 'unsub':
			return { kind: 'unsubscribed' };
		default:
			return `Mailjet "${type.slice(0, 40)}" events change nothing here`;
	}
}

function errorOf(raw: JsonObject): string {
	const related = textOrNumber(raw.error_related_to);
	const error = textOrNumber(raw.error) ?? 'no error given';
	return related ? `${related}: ${error}` : error;
}

/** `hard_bounce: true` is permanent; a greylisting is a delay Mailjet retries, not a bounce. */
function bounceKind(raw: JsonObject): Meaning {
	const reason = errorOf(raw);
	if (raw.hard_bounce === true) return { kind: 'hard_bounce', reason };
	if (raw.error === 'greylisted') return 'Mailjet greylisted bounce: a delay that Mailjet retries, nothing changes yet';
	return { kind: 'soft_bounce', reason };
}

/** Mailjet's `error` values that say the address itself cannot receive mail. */
const ADDRESS_ERRORS = new Set(['user unknown', 'mailbox inactive', 'invalid domain', 'no mail host', 'typofix']);

/**
 * Mailjet blocked the message before sending it, for `error`: an address known to be bad
 * (invalid_address), a recipient who reported spam (complaint), or a recent or full-mailbox
 * failure (soft bounce). The rest ("blacklisted", "sender blocked", "content blocked", "policy
 * issue", "duplicate in campaign", template and system errors) are about the sender's account or
 * message, or do not say why, and change nothing for the address.
 */
function blockedKind(raw: JsonObject): Meaning {
	const error = textOrNumber(raw.error);
	const reason = `blocked: ${errorOf(raw)}`;
	if (error && ADDRESS_ERRORS.has(error)) return { kind: 'invalid_address', reason };
	if (error === 'spam reporter') return { kind: 'complaint', reason };
	if (error === 'quota exceeded' || error === 'preblocked') return { kind: 'soft_bounce', reason };
	return `Mailjet blocked the message for "${(error ?? 'no error given').slice(0, 60)}", which says nothing about the address`;
}
