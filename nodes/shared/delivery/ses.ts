import { fromHeader } from './postmark';
import { type HttpCall } from '../http';
import { type EmailMessage, type EmailSender, postOrUnclear, type SendResult } from './provider';

/** Errors after which no message can go through this account, region or configuration set. */
const ACCOUNT_ERRORS = new Set([
	'AccessDeniedException',
	'AccountSuspendedException',
	'ExpiredTokenException',
	'IncompleteSignatureException',
	'InvalidClientTokenId',
	'InvalidSignatureException',
	'MailFromDomainNotVerifiedException',
	'NotFoundException',
	'SendingPausedException',
	'SignatureDoesNotMatch',
	'UnrecognizedClientException',
]);

/** Errors that may pass later: SES's throttling, under its various names. */
const THROTTLING = new Set(['TooManyRequestsException', 'ThrottlingException', 'Throttling']);

/**
 * Amazon SES API v2 `SendEmail` (`POST /v2/email/outbound-emails`), signed by the credential: one
 * message a call, with its own headers (Content.Simple.Headers). It answers 200 with MessageId;
 * errors name their type in x-amzn-ErrorType: MessageRejected (an address SES refuses, or in the
 * sandbox one not verified) fails that email; throttling (429) and 5xx may pass later; a refused
 * signature, an unverified MAIL FROM domain, a paused or suspended account, or an unknown
 * configuration set stop the run. SES has no idempotency key: a call left unanswered is never
 * made again.
 */
export class SesSender implements EmailSender {
	readonly maxBatch = 1;

	private readonly http: HttpCall;
	private readonly configurationSet: string | undefined;
	private readonly tags: Array<{ Name: string; Value: string }>;

	constructor(http: HttpCall, options: { configurationSet?: string; campaign?: string } = {}) {
		this.http = http;
		this.configurationSet = options.configurationSet?.trim() || undefined;
		// Tag values: ASCII letters, digits, _ and -, at most 256.
		const campaign = options.campaign?.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256);
		this.tags = campaign ? [{ Name: 'campaign', Value: campaign }] : [];
	}

	async sendBatch(messages: EmailMessage[]): Promise<SendResult[]> {
		const results: SendResult[] = [];
		for (const message of messages) results.push(await this.send(message));
		return results;
	}

	private async send(m: EmailMessage): Promise<SendResult> {
		const text = (Data: string) => ({ Data, Charset: 'UTF-8' });
		const response = await postOrUnclear(this.http, 'Amazon SES', '/v2/email/outbound-emails', {
			FromEmailAddress: sender(m.from),
			Destination: { ToAddresses: [m.to] },
			...(m.replyTo ? { ReplyToAddresses: [m.replyTo] } : {}),
			Content: {
				Simple: {
					Subject: text(m.subject),
					Body: { Text: text(m.text), Html: text(m.html) },
					Headers: Object.entries(m.headers).map(([Name, Value]) => ({ Name, Value })),
				},
			},
			...(this.tags.length ? { EmailTags: this.tags } : {}),
			...(this.configurationSet ? { ConfigurationSetName: this.configurationSet } : {}),
		});
		if ('ok' in response) return response;
		const { status, headers } = response;
		const body = (response.body ?? {}) as { MessageId?: string; message?: string; Message?: string; __type?: string };
		if (status === 200) return { ok: true, providerId: String(body.MessageId ?? '') };
		const type = String(headers['x-amzn-errortype'] ?? body.__type ?? '').split(':')[0].split('#').pop() ?? '';
		const message = body.message ?? body.Message ?? 'no message';
		const reason = `Amazon SES ${status}${type ? ` ${type}` : ''}: ${message}`;
		// Whatever the error type it comes under, a spent daily quota stops every later email too.
		if (/daily (message )?quota/i.test(message)) return { ok: false, retryable: false, fatal: true, reason: `${reason}. Ask AWS to raise the sending quota, or send later.` };
		if (THROTTLING.has(type) || status === 429 || status >= 500) return { ok: false, retryable: true, reason };
		if (ACCOUNT_ERRORS.has(type) || status === 401 || status === 403) {
			return { ok: false, retryable: false, fatal: true, reason: `${reason.replace(/\.$/, '')}. Check the keys, region and API URL of the credential, the account's sending status and the configuration set.` };
		}
		return { ok: false, retryable: false, reason };
	}
}

/** The From header SES takes: a display name outside ASCII must be an RFC 2047 encoded word. */
function sender(from: EmailMessage['from']): string {
	if (!from.name || /^[\x20-\x7e]*$/.test(from.name)) return fromHeader(from);
	return `=?UTF-8?B?${Buffer.from(from.name.replace(/[\r\n]+/g, ' '), 'utf8').toString('base64')}?= <${from.email}>`;
}
