import { createHmac } from 'node:crypto';
import { secretsMatch } from '../secrets';
import { derivedEventId, type FeedbackEvent, type FeedbackReading, type FeedbackRequest } from './model';
import { batchTooLarge, firstHeader, isJsonObject, isoFromSeconds, numberOrNaN, parseJson, readBatch, refuse, text, type JsonObject, type Meaning } from './payload';

/**
 * Mailchimp Transactional (Mandrill) message-event webhooks: a form POST whose `mandrill_events`
 * field holds a JSON array of events `{event, ts, _id, msg: {email, metadata, diag, ...}, url?}`,
 * signed in X-Mandrill-Signature with the webhook's key. Its `_id` is the message's id, shared by all
 * the events of a message, so event ids are derived. Sync events (`type: blacklist|whitelist`)
 * and inbound messages come through the same URL and are passed over.
 * https://mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/
 * https://mailchimp.com/developer/transactional/guides/authenticate-webhook-requests/
 */

export const MANDRILL_SIGNATURE_HEADER = 'x-mandrill-signature';
export const MANDRILL_MAX_EVENTS = 1000;

export interface MandrillConfig {
	/** The key Mandrill shows for the webhook (Settings > Webhooks), not the API key. */
	webhookKey: string;
}

/**
 * The X-Mandrill-Signature of a POST: base64 HMAC-SHA1, keyed with the webhook key, of the webhook
 * URL exactly as registered followed by each POST field's name and value, in order of name.
 */
export function mandrillSignature(key: string, url: string, params: Record<string, string>): string {
	const signed = Object.keys(params)
		.sort()
		.reduce((data, name) => data + name + params[name], url);
	return createHmac('sha1', key).update(signed, 'utf8').digest('base64');
}

/**
 * Reads one Mandrill webhook POST (the node answers Mandrill's HEAD check itself). A POST of an
 * empty array is Mandrill's test of the URL: read, with no events.
 * @throws Error when no webhook key is configured: a setup problem that no request can fix.
 */
export function readMandrill(request: FeedbackRequest, config: MandrillConfig): FeedbackReading {
	if (!config.webhookKey) {
		throw new Error('The Mandrill webhook key is empty: copy the key Mandrill shows for this webhook (Settings > Webhooks) into the credential');
	}
	const params = Object.fromEntries(new URLSearchParams(request.body.toString('utf8')));
	const signature = firstHeader(request, MANDRILL_SIGNATURE_HEADER);
	if (!signature) return refuse(401, `The ${MANDRILL_SIGNATURE_HEADER} header is missing: this URL accepts signed Mandrill webhooks only`);
	if (!secretsMatch(signature, mandrillSignature(config.webhookKey, request.url, params))) {
		return refuse(401, 'The Mandrill signature does not match: check the webhook key in the credential, and that the URL registered at Mandrill is exactly the one this webhook is called at');
	}
	if (params.mandrill_events === undefined) {
		return refuse(400, 'The request has no mandrill_events field: Mandrill posts form data with mandrill_events=<JSON array>');
	}
	const parsed = parseJson(params.mandrill_events, 'The mandrill_events field is not JSON');
	if (!parsed.ok) return parsed;
	if (!Array.isArray(parsed.value)) return refuse(400, 'The mandrill_events field is not a JSON array of events');
	return batchTooLarge(parsed.value, MANDRILL_MAX_EVENTS) ?? readBatch(parsed.value, readEvent);
}

/** The event, or why it is passed over. */
function readEvent(item: unknown): FeedbackEvent | string {
	if (!isJsonObject(item)) return 'The event is not a JSON object';
	const type = text(item.event);
	if (!type) {
		return text(item.type) ? `A Mandrill sync event ("${text(item.type)?.slice(0, 40)}"), not a message event` : 'The event has no "event" field';
	}
	const mapped = kindOf(type);
	if (typeof mapped === 'string') return mapped;
	const msg = isJsonObject(item.msg) ? item.msg : {};
	const email = text(msg.email);
	if (!email) return `The "${type}" event has no "msg.email" field`;
	const seconds = numberOrNaN(item.ts);
	const at = isoFromSeconds(seconds);
	if (!at) return `The "${type}" event has no valid "ts" field (Unix seconds)`;
	const messageId = text(item._id) ?? text(msg._id);
	const url = mapped.kind === 'clicked' ? text(item.url) : undefined;
	const sendKey = isJsonObject(msg.metadata) ? text(msg.metadata.rt_key) : undefined;
	return {
		provider: 'mandrill',
		id: derivedEventId(messageId, type, seconds, url),
		kind: mapped.kind,
		email,
		at,
		...(messageId ? { providerMessageId: messageId } : {}),
		...(sendKey ? { sendKey } : {}),
		...(mapped.kind === 'hard_bounce' || mapped.kind === 'soft_bounce' ? bounceReason(msg) : {}),
		...(url ? { url } : {}),
	};
}

/** The receiving server's words (`diag`), else Mandrill's classification (`bounce_description`). */
function bounceReason(msg: JsonObject): { reason?: string } {
	const reason = text(msg.diag) ?? text(msg.bounce_description);
	return reason ? { reason } : {};
}

/** What a Mandrill event means for us, or why it changes nothing. */
function kindOf(type: string): Meaning {
	switch (type) {
		case 'hard_bounce':
			return { kind: 'hard_bounce' };
		case 'soft_bounce':
			return { kind: 'soft_bounce' };
		case 'spam':
			return { kind: 'complaint' };
		case 'unsub':
			return { kind: 'unsubscribed' };
		case 'open':
			return { kind: 'opened' };
		case 'click':
			return { kind: 'clicked' };
		case 'send':
			return 'Mandrill "send": the message was sent, nothing changes yet';
		case 'deferral':
			return 'Mandrill "deferral": a temporary delay that Mandrill retries, nothing changes yet';
		case 'reject':
			// The address was already on Mandrill's rejection list; the bounce, complaint or unsubscribe
			// that put it there came as its own event, and the reject event does not say which it was.
			return 'Mandrill "reject": Mandrill refused to send to an address on its rejection list; the event that put it there was reported on its own';
		case 'inbound':
			return 'A Mandrill inbound message, not a message event: point inbound routes elsewhere';
		default:
			return `Mandrill "${type.slice(0, 40)}" events change nothing here`;
	}
}
