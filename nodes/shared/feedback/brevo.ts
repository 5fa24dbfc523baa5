import { credentialProblem, type WebhookCredential } from './basic-auth';
import { derivedEventId, type FeedbackEvent, type FeedbackReading, type FeedbackRequest } from './model';
import { batchTooLarge, isJsonObject, isoDate, isoFromSeconds, numberOrNaN, oneOrMany, parseJson, readBatch, refuse, textOrNumber, type JsonObject, type Meaning } from './payload';

/**
 * Brevo's transactional email webhooks: one JSON object per POST (an array when the webhook is
 * batched), with `event`, `email`, `message-id` (what the send API answered), `X-Mailin-custom`
 * (the X-Mailin-custom header of the send, verbatim), `reason`, `link` and times: `ts_epoch` in
 * milliseconds UTC, `ts_event`/`ts` in seconds, `date` in the account's time zone (not used). Brevo
 * does not sign its webhooks, so the credential is checked first (see basic-auth).
 * https://developers.brevo.com/docs/transactional-webhooks
 */

export const BREVO_MAX_EVENTS = 1000;

/**
 * Reads one Brevo webhook POST. The request must carry the credential's user and password or
 * token (Brevo's `auth` of type basic or bearer): it is refused with 401 otherwise, before the
 * body is read.
 */
export function readBrevo(request: FeedbackRequest, auth: WebhookCredential): FeedbackReading {
	const problem = credentialProblem(request, auth);
	if (problem) return refuse(401, problem);
	const parsed = parseJson(request.body, 'The request body is not JSON: Brevo posts one JSON event');
	if (!parsed.ok) return parsed;
	const items = oneOrMany(parsed.value);
	return batchTooLarge(items, BREVO_MAX_EVENTS) ?? readBatch(items, readEvent);
}

/** The event, or why it is passed over. */
function readEvent(raw: unknown): FeedbackEvent | string {
	if (!isJsonObject(raw)) return 'The event is not a JSON object';
	const type = textOrNumber(raw.event);
	if (!type) return 'The event has no "event" field';
	const mapped = kindOf(type);
	if (typeof mapped === 'string') return mapped;
	const email = textOrNumber(raw.email);
	if (!email) return `The "${type}" event has no "email" field`;
	const at = eventTime(raw);
	if (!at) return `The "${type}" event has no valid "ts_epoch" (milliseconds) or "ts_event" (seconds) field`;
	const messageId = textOrNumber(raw['message-id']);
	const url = mapped.kind === 'clicked' ? textOrNumber(raw.link) : undefined;
	const sendKey = textOrNumber(raw['X-Mailin-custom']);
	const reason = mapped.kind === 'hard_bounce' || mapped.kind === 'soft_bounce' || mapped.kind === 'invalid_address' ? textOrNumber(raw.reason)?.trim() : undefined;
	return {
		provider: 'brevo',
		id: derivedEventId(type, messageId, textOrNumber(raw.ts_epoch) ?? textOrNumber(raw.ts_event) ?? textOrNumber(raw.ts), email, url),
		kind: mapped.kind,
		email,
		at,
		...(messageId ? { providerMessageId: messageId } : {}),
		...(sendKey ? { sendKey } : {}),
		...(reason ? { reason } : {}),
		...(url ? { url } : {}),
	};
}

/** Seconds below this are before 5138; milliseconds below it are before 1973: it tells the two apart. */
const SECONDS_OR_MILLISECONDS = 1e11;

/**
 * `ts_epoch` is documented in milliseconds UTC, but some payloads carry seconds there: a value too
 * small for milliseconds since 1973 is read as seconds. Without it, `ts_event`, then `ts` (seconds).
 */
function eventTime(raw: JsonObject): string | undefined {
	const epoch = numberOrNaN(raw.ts_epoch);
	if (Number.isFinite(epoch)) return isoDate(epoch < SECONDS_OR_MILLISECONDS ? epoch * 1000 : epoch);
	return isoFromSeconds(typeof raw.ts_event === 'number' ? raw.ts_event : numberOrNaN(raw.ts));
}

/** What a Brevo event means for us, or why it changes nothing. */
function kindOf(type: string): Meaning {
	switch (type) {
		case 'delivered':
			return { kind: 'delivered' };
		case 'hard_bounce':
			return { kind: 'hard_bounce' };
		case 'soft_bounce':
			return { kind: 'soft_bounce' };
		case 'invalid_email':
			return { kind: 'invalid_address' };
		case 'spam':
		case 'complaint':
			return { kind: 'complaint', reason: 'spam report' };
		case 'unsubscribed':
		case 'unsubscribe':
			return { kind: 'unsubscribed' };
		// unique_opened is the first open, opened each later one (Brevo has sent both for a first open):
		// each is its own event with its own id.
		case 'opened':
		case 'unique_opened':
			return { kind: 'opened' };
		case 'click':
			return { kind: 'clicked' };
		case 'request':
			return 'Brevo "request": the message was accepted for sending, nothing changes yet';
		case 'deferred':
			return 'Brevo "deferred": a temporary delay that Brevo retries, nothing changes yet';
		case 'blocked':
			return 'Brevo "blocked": Brevo refused to send to a contact it had already blocked; the bounce, complaint or unsubscribe that blocked it was reported on its own';
		case 'proxy_open':
		case 'unique_proxy_open':
			return `Brevo "${type}": an open by a privacy proxy (such as Apple Mail Privacy Protection), not a view by the recipient`;
		case 'error':
			return 'Brevo "error": the message could not be sent for a reason on the sender\'s side, nothing changes for the address';
		default:
			return `Brevo "${type.slice(0, 40)}" events change nothing here`;
	}
}
