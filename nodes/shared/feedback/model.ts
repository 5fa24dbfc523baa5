import { createHash } from 'node:crypto';

/**
 * What comes back from the email providers, in one shape: each provider's webhook payload (or a
 * bounce email, for SMTP) is read into FeedbackEvents, which the store applies (suppression,
 * consent, touchpoints). Free of n8n, so each provider's reader is tested on its documented payloads.
 */

export const FEEDBACK_PROVIDERS = ['sendgrid', 'mandrill', 'ses', 'postmark', 'mailjet', 'brevo', 'smtp'] as const;
export type FeedbackProvider = (typeof FEEDBACK_PROVIDERS)[number];

/**
 * - `hard_bounce`, `invalid_address`, `complaint`: the address is suppressed with the reason;
 * - `soft_bounce`: counted, suppressed after a configurable number in a row;
 * - `unsubscribed`: email consent withdrawn;
 * - `delivered`, `opened` (a view), `clicked` (a click): touchpoints for attribution.
 */
export const FEEDBACK_KINDS = ['delivered', 'opened', 'clicked', 'hard_bounce', 'soft_bounce', 'invalid_address', 'complaint', 'unsubscribed'] as const;
export type FeedbackKind = (typeof FEEDBACK_KINDS)[number];

/**
 * The header ESP Send puts in every message with its idempotency key: bounce reports return the
 * original headers, and SES includes them in its events, so the send is found by it.
 */
export const SEND_KEY_HEADER = 'X-Retargeting-Key';

export interface FeedbackEvent {
	provider: FeedbackProvider;
	/**
	 * The provider's own id of this event (SendGrid sg_event_id, SNS MessageId, ...), so a webhook
	 * delivered twice counts once. Where the provider gives none, a SHA-256 of the fields that make
	 * the event (kind, recipient, message id, time), never a random value.
	 */
	id: string;
	kind: FeedbackKind;
	/** The recipient's address as the provider wrote it. */
	email: string;
	/** When it happened, ISO 8601 UTC. */
	at: string;
	/** The provider's id of the message (what its send API answered), to find the send in rt_sends. */
	providerMessageId?: string;
	/** The idempotency key ESP Send put in the message (custom args, metadata, CustomID, header). */
	sendKey?: string;
	/** The provider's words: bounce diagnostic, complaint type, unsubscribe origin. */
	reason?: string;
	/** The link that was clicked. */
	url?: string;
}

/** An event of the payload that was read but changes nothing (a `processed` or `deferred` notice), or could not be read. */
export interface IgnoredEvent {
	index: number;
	reason: string;
}

/**
 * The outcome of reading one webhook request:
 * - ok: the events to apply, and those passed over with why;
 * - refused: the request is not authentic or not readable, answered with `status` (4xx) and
 *   `error`, and nothing is applied.
 * `reply`, when set, is what the provider expects as the answer body (SNS subscription confirmation).
 */
export type FeedbackReading =
	| { ok: true; events: FeedbackEvent[]; ignored: IgnoredEvent[]; reply?: string }
	| { ok: false; status: number; error: string };

/** One webhook request, as n8n hands it over. */
export interface FeedbackRequest {
	/** The raw body, exactly as received (signatures are computed over it). */
	body: Buffer;
	/** Header names lower-case. */
	headers: Record<string, string | string[] | undefined>;
	/** The full public URL the provider called, for signatures that cover it (Mandrill). */
	url: string;
	method: string;
}

/** An event id made from the fields that make an event, for providers that send none: the same event always gets the same id. */
export function derivedEventId(...parts: Array<string | number | undefined>): string {
	return `h:${createHash('sha256').update(parts.map((p) => String(p ?? '')).join('\n')).digest('hex').slice(0, 32)}`;
}
