import { createVerify, type KeyObject, X509Certificate } from 'node:crypto';

import type { FeedbackEvent, FeedbackKind, FeedbackReading, FeedbackRequest, IgnoredEvent } from './model';
import { firstHeader, isJsonObject, isoDate, parseJson, passedOver, refuse } from './payload';

/**
 * Amazon SES feedback through Amazon SNS: SES publishes its events (bounces, complaints,
 * deliveries, opens, clicks, unsubscribes) to an SNS topic, and SNS POSTs each one to the webhook
 * in its JSON envelope, signed with AWS's RSA key (docs.aws.amazon.com/sns/latest/dg/
 * sns-verify-signature-of-message.html, http-notification-json.html).
 */

export interface SesConfig {
	/** The SNS topic ARNs the user allows; a message from any other topic is refused. */
	topicArns: string[];
}

/** What the reader needs from the network, injected (the node uses n8n's HTTP helper; tests serve their own). */
export interface SnsIo {
	/** GET the PEM certificate at a URL already checked to be https on an AWS SNS host. */
	fetchCertificate(url: string): Promise<string>;
	/** GET the SubscribeURL of a verified SubscriptionConfirmation, which confirms the subscription. */
	confirmSubscription(subscribeUrl: string): Promise<void>;
}

type SnsType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
const SNS_TYPES: readonly string[] = ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'];

interface SnsEnvelope {
	Type: SnsType;
	MessageId: string;
	TopicArn: string;
	Subject?: string;
	Message: string;
	Timestamp: string;
	SignatureVersion: string;
	Signature: string;
	SigningCertURL: string;
	SubscribeURL?: string;
	Token?: string;
}

/** The fields each type signs, in the order AWS puts them in the string to sign. */
const SIGNED_FIELDS: Record<SnsType, Array<keyof SnsEnvelope>> = {
	Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
	SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
	UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

const SIGNATURE_ALGORITHMS: Record<string, string> = { '1': 'RSA-SHA1', '2': 'RSA-SHA256' };

/** SNS's own endpoints: sns.<region>.amazonaws.com, and .com.cn in the China regions. */
const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** Signing certificates already fetched, by URL (SNS signs with few, long-lived certificates). */
const CERTIFICATES = new Map<string, KeyObject>();
const MAX_CERTIFICATES = 20;

/**
 * Reads one SNS request carrying SES events. In order, and nothing fetched before the checks
 * before it pass: the envelope's fields; its topic among `config.topicArns` (403); the signing
 * certificate's URL https on an SNS host (401); the signature (401). Then a SubscriptionConfirmation
 * is confirmed through `io`, and a Notification's SES event is read into FeedbackEvents.
 *
 * Messages are not refused for their age: SNS retries an HTTP/S delivery that failed on the
 * endpoint's side for up to an hour (the hard limit of a delivery policy; 3 retries 20 s apart by
 * default, docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html) with the original
 * Timestamp and signature, so a cut-off would drop genuine late deliveries. A replay of a genuine
 * message changes nothing: every event keeps the id it had the first time (the SNS MessageId, which
 * SNS keeps across retries), and the store counts an id once.
 *
 * The certificate is trusted for its URL: https on an SNS host, as AWS's own validators do; its
 * chain is the TLS connection's that fetched it. Failures to fetch the certificate or to confirm a
 * subscription are answered 502, a server-side error, which SNS retries; refusals are 4xx, which
 * it does not.
 */
export async function readSes(request: FeedbackRequest, config: SesConfig, io: SnsIo): Promise<FeedbackReading> {
	const allowed = config.topicArns.map((arn) => arn.trim()).filter(Boolean);
	if (!allowed.length) return refuse(403, 'No SNS topic is allowed: set the SNS topic ARN in the credential.');

	const parsed = parseEnvelope(request);
	if ('error' in parsed) return refuse(400, parsed.error);
	const envelope = parsed.envelope;

	if (!allowed.includes(envelope.TopicArn)) return refuse(403, `The SNS topic ${envelope.TopicArn} is not among the topics allowed in the credential.`);
	if (!isSnsUrl(envelope.SigningCertURL, '.pem')) return refuse(401, 'Refused: certificate URL not on an AWS SNS host (https://sns.<region>.amazonaws.com/….pem expected).');

	const algorithm = SIGNATURE_ALGORITHMS[envelope.SignatureVersion];
	if (!algorithm) return refuse(401, `Unsupported SNS SignatureVersion "${envelope.SignatureVersion}" (1 or 2 expected).`);

	let key: KeyObject;
	try {
		key = await signingKey(envelope.SigningCertURL, io);
	} catch (error) {
		// Not the sender's fault as far as can be told: answered 5xx so that SNS tries again later.
		return refuse(502, `The SNS signing certificate could not be fetched or read: ${describe(error)}`);
	}
	if (!verifySignature(envelope, algorithm, key)) return refuse(401, 'The SNS signature does not match the message; message refused.');

	if (envelope.Type === 'SubscriptionConfirmation') return confirm(envelope, io);
	if (envelope.Type === 'UnsubscribeConfirmation') {
		return passedOver('SNS UnsubscribeConfirmation: the endpoint was unsubscribed from the topic; nothing to apply');
	}
	return readNotification(envelope);
}

function describe(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

/** The envelope, or what is wrong with it (naming the field). */
function parseEnvelope(request: FeedbackRequest): { envelope: SnsEnvelope } | { error: string } {
	const parsed = parseJson(request.body, 'The body is not JSON; an SNS message (JSON envelope) was expected.');
	if (!parsed.ok) return { error: parsed.error };
	const fields = parsed.value;
	if (!isJsonObject(fields)) return { error: 'The body is not a JSON object; an SNS message envelope was expected.' };
	if (typeof fields.Type !== 'string') {
		return { error: 'The SNS envelope has no Type field (is "raw message delivery" on for the subscription? Turn it off: the envelope carries the signature).' };
	}
	if (!SNS_TYPES.includes(fields.Type)) return { error: `Unknown SNS message Type "${fields.Type.slice(0, 40)}".` };
	const type = fields.Type as SnsType;
	const required = ['MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL'];
	if (type !== 'Notification') required.push('SubscribeURL', 'Token');
	for (const name of required) {
		if (typeof fields[name] !== 'string' || fields[name] === '') return { error: `The SNS envelope has no ${name} field.` };
	}
	if (fields.Subject !== undefined && fields.Subject !== null && typeof fields.Subject !== 'string') return { error: 'The SNS envelope has a Subject field that is not a string.' };
	const declared = firstHeader(request, 'x-amz-sns-message-type');
	if (declared !== undefined && declared !== type) return { error: `The x-amz-sns-message-type header (${declared.slice(0, 40)}) does not match the envelope's Type (${type}).` };
	return { envelope: fields as unknown as SnsEnvelope };
}

/** Whether a URL is https on an SNS host, and (when asked) its path ends with `suffix`. */
function isSnsUrl(value: string, pathSuffix = ''): boolean {
	let url: URL;
	try {
		url = new URL(value);
	} catch {
		return false;
	}
	return url.protocol === 'https:' && !url.username && !url.password && !url.port && SNS_HOST.test(url.hostname) && url.pathname.endsWith(pathSuffix);
}

/** The public key of the certificate at `url`, fetched once and kept (at most MAX_CERTIFICATES). */
async function signingKey(url: string, io: SnsIo): Promise<KeyObject> {
	const cached = CERTIFICATES.get(url);
	if (cached) return cached;
	const pem = await io.fetchCertificate(url);
	const key = new X509Certificate(pem).publicKey;
	if (CERTIFICATES.size >= MAX_CERTIFICATES) CERTIFICATES.delete(CERTIFICATES.keys().next().value as string);
	CERTIFICATES.set(url, key);
	return key;
}

/** The string AWS signs: `name\nvalue\n` for each signed field present, in its order. */
function snsStringToSign(envelope: Pick<SnsEnvelope, 'Type'> & Partial<SnsEnvelope>): string {
	return SIGNED_FIELDS[envelope.Type]
		.filter((name) => envelope[name] !== undefined && envelope[name] !== null)
		.map((name) => `${name}\n${envelope[name]}\n`)
		.join('');
}

function verifySignature(envelope: SnsEnvelope, algorithm: string, key: KeyObject): boolean {
	try {
		return createVerify(algorithm).update(snsStringToSign(envelope), 'utf8').verify(key, envelope.Signature, 'base64');
	} catch {
		return false;
	}
}

async function confirm(envelope: SnsEnvelope, io: SnsIo): Promise<FeedbackReading> {
	const subscribeUrl = envelope.SubscribeURL ?? '';
	if (!isSnsUrl(subscribeUrl)) return refuse(400, 'The SubscribeURL is not on an AWS SNS host (https://sns.<region>.amazonaws.com/); subscription not confirmed.');
	try {
		await io.confirmSubscription(subscribeUrl);
	} catch (error) {
		return refuse(502, `The SNS subscription could not be confirmed: ${describe(error)}`);
	}
	return { ok: true, events: [], ignored: [], reply: 'subscription confirmed' };
}

// ---- the SES event inside a Notification ----

interface SesMail {
	timestamp?: string;
	messageId?: string;
	destination?: unknown[];
	headers?: Array<{ name?: unknown; value?: unknown }>;
	tags?: Record<string, unknown>;
}

interface SesRecipient {
	emailAddress?: unknown;
	status?: unknown;
	diagnosticCode?: unknown;
}

interface SesEventJson {
	eventType?: unknown;
	notificationType?: unknown;
	mail?: SesMail;
	bounce?: { bounceType?: unknown; bounceSubType?: unknown; bouncedRecipients?: SesRecipient[]; timestamp?: unknown };
	complaint?: { complainedRecipients?: SesRecipient[]; timestamp?: unknown; complaintFeedbackType?: unknown; complaintSubType?: unknown };
	delivery?: { recipients?: unknown[]; timestamp?: unknown };
	open?: { timestamp?: unknown };
	click?: { timestamp?: unknown; link?: unknown };
	subscription?: { timestamp?: unknown; contactList?: unknown; source?: unknown; newTopicPreferences?: { unsubscribeAll?: unknown } };
}

/** An event before its id and common fields are set. */
interface Draft {
	kind: FeedbackKind;
	email: string;
	reason?: string;
	url?: string;
}

/** Event types that change nothing here, and why. */
const PASSED_OVER: Record<string, string> = {
	Send: 'SES Send: accepted by SES, not yet delivered',
	Reject: 'SES Reject: SES refused the message (virus), nothing was sent to the recipient',
	DeliveryDelay: 'SES DeliveryDelay: SES is still trying; a Bounce or Delivery follows',
	'Rendering Failure': 'SES Rendering Failure: the template could not be rendered, nothing was sent',
	RenderingFailure: 'SES Rendering Failure: the template could not be rendered, nothing was sent',
};

/** Enhanced status codes (RFC 3463) that say the address itself is wrong: X.1.0 other address, X.1.1 no such mailbox, X.1.2 no such domain, X.1.3 bad syntax, X.1.10 null MX. */
const INVALID_ADDRESS_STATUS = /^5\.1\.(0|1|2|3|10)$/;

function readNotification(envelope: SnsEnvelope): FeedbackReading {
	let ses: SesEventJson;
	try {
		ses = JSON.parse(envelope.Message) as SesEventJson;
	} catch {
		return passedOver('the SNS message is not an SES event (not JSON)');
	}
	if (!ses || typeof ses !== 'object') return passedOver('the SNS message is not an SES event');
	const type = text(ses.eventType) ?? text(ses.notificationType);
	if (!type) return passedOver('the SNS message is not an SES event (no eventType or notificationType)');
	if (PASSED_OVER[type]) return passedOver(PASSED_OVER[type]);

	const mail = ses.mail ?? {};
	const ignored: IgnoredEvent[] = [];
	const { drafts, at } = draftsOf(type, ses, mail, ignored);
	if (!drafts) return passedOver(`SES event type "${type.slice(0, 40)}" is not one that is read`);

	const common = {
		provider: 'ses' as const,
		at: isoTime(at) ?? isoTime(mail.timestamp) ?? isoTime(envelope.Timestamp) ?? envelope.Timestamp,
		...(text(mail.messageId) ? { providerMessageId: text(mail.messageId) } : {}),
		...(sendKeyOf(mail) ? { sendKey: sendKeyOf(mail) } : {}),
	};
	const events: FeedbackEvent[] = drafts.map((draft, i) => ({
		...common,
		id: drafts.length === 1 ? envelope.MessageId : `${envelope.MessageId}:${i}`,
		kind: draft.kind,
		email: draft.email,
		...(draft.reason ? { reason: draft.reason } : {}),
		...(draft.url ? { url: draft.url } : {}),
	}));
	return { ok: true, events, ignored };
}

/** The events of one SES record and the time it happened; `drafts` undefined for a type not read. */
function draftsOf(type: string, ses: SesEventJson, mail: SesMail, ignored: IgnoredEvent[]): { drafts?: Draft[]; at?: unknown } {
	const perRecipient = (list: unknown[] | undefined, make: (email: string, entry: unknown) => Draft | string): Draft[] => {
		const drafts: Draft[] = [];
		(Array.isArray(list) ? list : []).forEach((entry, index) => {
			const email = text(typeof entry === 'string' ? entry : (entry as SesRecipient | null)?.emailAddress);
			if (!email) return void ignored.push({ index, reason: `SES ${type}: a recipient without an address` });
			const draft = make(email, entry);
			if (typeof draft === 'string') ignored.push({ index, reason: draft });
			else drafts.push(draft);
		});
		if (!drafts.length && !ignored.length) ignored.push({ index: 0, reason: `SES ${type}: no recipients listed` });
		return drafts;
	};
	const destinations = () => mail.destination;

	switch (type) {
		case 'Bounce': {
			const bounce = ses.bounce ?? {};
			return { at: bounce.timestamp, drafts: perRecipient(bounce.bouncedRecipients, (email, entry) => bounceDraft(email, bounce, entry as SesRecipient)) };
		}
		case 'Complaint': {
			const complaint = ses.complaint ?? {};
			const feedbackType = text(complaint.complaintFeedbackType);
			const subType = text(complaint.complaintSubType);
			if (feedbackType?.toLowerCase() === 'not-spam') return { at: complaint.timestamp, drafts: perRecipient(complaint.complainedRecipients, () => 'SES Complaint of type not-spam: the report says the message is not spam') };
			const reason = subType === 'OnAccountSuppressionList' ? 'on the SES account-level suppression list' : feedbackType;
			return { at: complaint.timestamp, drafts: perRecipient(complaint.complainedRecipients, (email) => ({ kind: 'complaint', email, reason })) };
		}
		case 'Delivery':
			return { at: ses.delivery?.timestamp, drafts: perRecipient(ses.delivery?.recipients, (email) => ({ kind: 'delivered', email })) };
		case 'Open':
			return { at: ses.open?.timestamp, drafts: perRecipient(destinations(), (email) => ({ kind: 'opened', email })) };
		case 'Click': {
			const url = text(ses.click?.link);
			return { at: ses.click?.timestamp, drafts: perRecipient(destinations(), (email) => ({ kind: 'clicked', email, ...(url ? { url } : {}) })) };
		}
		case 'Subscription': {
			const subscription = ses.subscription ?? {};
			if (subscription.newTopicPreferences?.unsubscribeAll !== true) {
				return { at: subscription.timestamp, drafts: perRecipient(destinations(), () => 'SES Subscription: topic preferences changed, not unsubscribed from all') };
			}
			const reason = ['SES subscription management', text(subscription.source), text(subscription.contactList) && `contact list ${text(subscription.contactList)}`].filter(Boolean).join(': ');
			return { at: subscription.timestamp, drafts: perRecipient(destinations(), (email) => ({ kind: 'unsubscribed', email, reason })) };
		}
		default:
			return {};
	}
}

/**
 * Permanent → hard_bounce, except NoEmail (or an address status 5.1.x) → invalid_address;
 * Suppressed / OnAccountSuppressionList stay hard_bounce, with SES's suppression as the reason.
 * Transient and Undetermined → soft_bounce.
 */
function bounceDraft(email: string, bounce: NonNullable<SesEventJson['bounce']>, recipient: SesRecipient): Draft {
	const type = text(bounce.bounceType) ?? 'Undetermined';
	const subType = text(bounce.bounceSubType);
	const status = text(recipient.status);
	const diagnostic = text(recipient.diagnosticCode);
	const typeWords = [type, subType].filter(Boolean).join(' ');
	if (type !== 'Permanent') return { kind: 'soft_bounce', email, reason: diagnostic ?? typeWords };
	if (subType === 'Suppressed') return { kind: 'hard_bounce', email, reason: `${typeWords}: on the SES global suppression list` };
	if (subType === 'OnAccountSuppressionList') return { kind: 'hard_bounce', email, reason: `${typeWords}: on the SES account-level suppression list` };
	const invalid = subType === 'NoEmail' || (status !== undefined && INVALID_ADDRESS_STATUS.test(status));
	return { kind: invalid ? 'invalid_address' : 'hard_bounce', email, reason: diagnostic ?? typeWords };
}

/** X-Retargeting-Key among the original headers (when SES includes them), else the rt_key tag. */
function sendKeyOf(mail: SesMail): string | undefined {
	const fromHeader = (Array.isArray(mail.headers) ? mail.headers : []).find((h) => typeof h?.name === 'string' && h.name.toLowerCase() === 'x-retargeting-key');
	const headerValue = text(fromHeader?.value);
	if (headerValue) return headerValue;
	const tag = mail.tags?.rt_key;
	return text(Array.isArray(tag) ? tag[0] : tag);
}

function text(value: unknown): string | undefined {
	return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

function isoTime(value: unknown): string | undefined {
	return typeof value === 'string' && value ? isoDate(value) : undefined;
}
