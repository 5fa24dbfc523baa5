import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { derivedEventId, type FeedbackEvent, type FeedbackKind, type FeedbackReading, type FeedbackRequest } from './model';
import { batchTooLarge, firstHeader, isJsonObject, isoFromSeconds, numberOrNaN, parseJson, readBatch, refuse, text, type JsonObject, type Meaning } from './payload';

/**
 * SendGrid's Event Webhook: each POST is a JSON array of events (about 1,000 at most), each with
 * `email`, `timestamp` (Unix seconds), `event`, `sg_event_id`, `sg_message_id` and the message's
 * custom args as top-level fields. Its authenticity is the Signed Event Webhook: an ECDSA P-256
 * signature over the timestamp header followed by the raw body, checked with the account's public key.
 * https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
 * https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
 */

export const SENDGRID_SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const SENDGRID_TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

/** SendGrid posts up to about 1,000 events; the margin keeps a larger batch from being refused for nothing. */
export const SENDGRID_MAX_EVENTS = 5000;

export interface SendGridConfig {
	/** The verification key of the Signed Event Webhook settings: base64 DER (as SendGrid shows it) or PEM. */
	publicKey: string;
}

/**
 * The verification key as a KeyObject.
 * @throws Error, in words for the marketer, when the key is empty, unreadable or not a P-256 key:
 * a setup problem that no request can fix.
 */
export function sendGridPublicKey(text: string): KeyObject {
	const trimmed = text.trim();
	if (!trimmed) throw new Error('The SendGrid verification key is empty: copy it from Settings > Mail Settings > Event Webhook (Signed Event Webhook) into the credential');
	const key = parsedKey(trimmed);
	if (!key) {
		throw new Error('The SendGrid verification key cannot be read: paste the whole key SendGrid shows for the Signed Event Webhook (a base64 text starting with "MFkw")');
	}
	if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
		throw new Error('The SendGrid verification key is not an ECDSA P-256 public key: paste the key SendGrid shows for the Signed Event Webhook');
	}
	return key;
}

function parsedKey(value: string): KeyObject | undefined {
	try {
		return value.startsWith('-----BEGIN')
			? createPublicKey(value)
			: createPublicKey({ key: Buffer.from(value.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
	} catch {
		return undefined;
	}
}

/** Why the request's signature does not prove it came from SendGrid, or undefined when it does. */
function signatureProblem(request: FeedbackRequest, key: KeyObject): string | undefined {
	const signature = firstHeader(request, SENDGRID_SIGNATURE_HEADER);
	const timestamp = firstHeader(request, SENDGRID_TIMESTAMP_HEADER);
	if (!signature) return `The ${SENDGRID_SIGNATURE_HEADER} header is missing: turn on the Signed Event Webhook in SendGrid`;
	if (!timestamp) return `The ${SENDGRID_TIMESTAMP_HEADER} header is missing: turn on the Signed Event Webhook in SendGrid`;
	// The signed bytes are the timestamp exactly as sent, then the body exactly as received.
	const signed = Buffer.concat([Buffer.from(timestamp, 'utf8'), request.body]);
	let valid = false;
	try {
		valid = verify('sha256', signed, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
	} catch {
		valid = false; // a signature that is not DER at all
	}
	return valid ? undefined : 'The SendGrid signature does not match: check the verification key in the credential';
}

/**
 * Reads one SendGrid Event Webhook request. The signature is checked before anything is read;
 * no timestamp window is applied because SendGrid's retries may come hours later, and a replayed
 * request only repeats event ids already applied.
 * @throws Error when the configured key cannot be used (see sendGridPublicKey).
 */
export function readSendGrid(request: FeedbackRequest, config: SendGridConfig): FeedbackReading {
	const problem = signatureProblem(request, sendGridPublicKey(config.publicKey));
	if (problem) return refuse(401, problem);
	const parsed = parseJson(request.body, 'The request body is not JSON: SendGrid posts a JSON array of events');
	if (!parsed.ok) return parsed;
	if (!Array.isArray(parsed.value)) return refuse(400, 'The request body is not a JSON array: SendGrid posts an array of events');
	return batchTooLarge(parsed.value, SENDGRID_MAX_EVENTS) ?? readBatch(parsed.value, readEvent);
}

/** The event, or why it is passed over. */
function readEvent(raw: unknown): FeedbackEvent | string {
	if (!isJsonObject(raw)) return 'The event is not a JSON object';
	const type = text(raw.event);
	if (!type) return 'The event has no "event" field';
	const mapped = kindOf(type, raw);
	if (typeof mapped === 'string') return mapped;
	const email = text(raw.email);
	if (!email) return `The "${type}" event has no "email" field`;
	const seconds = numberOrNaN(raw.timestamp);
	const at = isoFromSeconds(seconds);
	if (!at) return `The "${type}" event has no valid "timestamp" field (Unix seconds)`;
	const messageId = text(raw.sg_message_id);
	const url = mapped.kind === 'clicked' ? text(raw.url) : undefined;
	const sendKey = text(raw.rt_key);
	return {
		provider: 'sendgrid',
		// Old `dropped` events came without sg_event_id: the fields that make the event stand in for it.
		id: text(raw.sg_event_id) ?? derivedEventId(type, messageId, seconds, email, url, text(raw.reason)),
		kind: mapped.kind,
		email,
		at,
		// The send API's X-Message-Id is the part of sg_message_id before its first dot.
		...(messageId ? { providerMessageId: messageId.split('.')[0] } : {}),
		...(sendKey ? { sendKey } : {}),
		...(mapped.reason ? { reason: mapped.reason } : {}),
		...(url ? { url } : {}),
	};
}

/** What a SendGrid event means for us, or why it changes nothing. */
function kindOf(type: string, raw: JsonObject): Meaning {
	switch (type) {
		case 'delivered':
			return { kind: 'delivered' };
		case 'open':
			// Apple Mail Privacy Protection loads every image: a machine open is no view by the person.
			return raw.sg_machine_open === true ? 'A machine open (Apple Mail Privacy Protection), not a view by the recipient' : { kind: 'opened' };
		case 'click':
			return { kind: 'clicked' };
		case 'bounce':
			return bounceKind(raw);
		case 'dropped':
			return droppedKind(text(raw.reason));
		case 'spamreport':
			return { kind: 'complaint', reason: 'spam report' };
		case 'unsubscribe':
			return { kind: 'unsubscribed', reason: 'unsubscribe link' };
		case 'group_unsubscribe':
			return { kind: 'unsubscribed', reason: raw.asm_group_id === undefined ? 'group unsubscribe' : `group unsubscribe (group ${String(raw.asm_group_id)})` };
		case 'processed':
			return 'SendGrid "processed": the message was accepted for delivery, nothing changes yet';
		case 'deferred':
			return 'SendGrid "deferred": a temporary delay that SendGrid retries, nothing changes yet';
		case 'group_resubscribe':
			return 'SendGrid "group_resubscribe": a resubscribe is no consent given to this package, nothing changes';
		default:
			return `SendGrid "${type.slice(0, 40)}" events change nothing here`;
	}
}

/** `type: blocked` is a temporary refusal by the receiving server; `type: bounce` a permanent one. */
function bounceKind(raw: JsonObject): Meaning {
	const diagnostic = text(raw.reason) ?? text(raw.status);
	const kind: FeedbackKind = raw.type === 'blocked' ? 'soft_bounce' : 'hard_bounce';
	return { kind, ...(diagnostic ? { reason: diagnostic } : {}) };
}

/** SendGrid drops a message when its own suppression lists hold the address; the list tells why. */
function droppedKind(reason: string | undefined): Meaning {
	switch (reason?.toLowerCase()) {
		case 'bounced address':
		case 'invalid':
			return { kind: 'invalid_address', reason: `dropped: ${reason}` };
		case 'spam reporting address':
			return { kind: 'complaint', reason: `dropped: ${reason}` };
		case 'unsubscribed address':
			return { kind: 'unsubscribed', reason: `dropped: ${reason}` };
		default:
			return `SendGrid dropped the message for "${(reason ?? 'no reason').slice(0, 80)}", which says nothing about the address`;
	}
}
