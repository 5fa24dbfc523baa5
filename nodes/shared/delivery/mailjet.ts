import { type HttpCall, retryAfterMs } from '../http';
import { type EmailMessage, type EmailSender, postOrUnclear, type SendResult } from './provider';

interface MailjetMessageResult {
	Status?: string;
	To?: Array<{ Email?: string; MessageUUID?: string; MessageID?: number | string }>;
	Errors?: Array<{ ErrorCode?: string; ErrorMessage?: string; ErrorRelatedTo?: string[] }>;
}

/**
 * Mailjet Send API v3.1: up to 50 messages a call, each with its own content and headers. It
 * answers 200 when all were accepted, 400 with one status a message when some were refused (the
 * others are sent: partial success), 401 for a bad key pair, 429 and 5xx for what may pass later.
 * CustomID carries the idempotency key, so a message can be found in Mailjet's logs.
 */
export class MailjetSender implements EmailSender {
	readonly maxBatch = 50;

	private readonly http: HttpCall;
	private readonly campaign: string | undefined;

	constructor(http: HttpCall, options: { campaign?: string } = {}) {
		this.http = http;
		this.campaign = options.campaign || undefined;
	}

	async sendBatch(messages: EmailMessage[]): Promise<SendResult[]> {
		const all = (result: SendResult) => messages.map(() => result);
		const request = {
			Messages: messages.map((m) => ({
				From: { Email: m.from.email, ...(m.from.name ? { Name: m.from.name } : {}) },
				To: [{ Email: m.to }],
				...(m.replyTo ? { ReplyTo: { Email: m.replyTo } } : {}),
				Subject: m.subject,
				TextPart: m.text,
				HTMLPart: m.html,
				Headers: m.headers,
				...(m.key ? { CustomID: m.key.slice(0, 255) } : {}),
				...(this.campaign ? { CustomCampaign: this.campaign.slice(0, 255) } : {}),
			})),
		};
		const response = await postOrUnclear(this.http, 'Mailjet', '/v3.1/send', request);
		if ('ok' in response) return all(response);
		const { status, body } = response;
		const results = (body as { Messages?: MailjetMessageResult[] } | undefined)?.Messages;
		if (status === 401 || status === 403) {
			return all({ ok: false, retryable: false, fatal: true, reason: `Mailjet ${status}: the API key and secret were refused. Check the credential.` });
		}
		if (status === 429 || status >= 500) return all({ ok: false, retryable: true, reason: `Mailjet ${status}`, retryAfterMs: retryAfterMs(response.headers) });
		if ((status === 200 || status === 400) && Array.isArray(results) && results.length === messages.length) {
			return results.map((r) =>
				r.Status === 'success'
					? { ok: true, providerId: String(r.To?.[0]?.MessageUUID ?? r.To?.[0]?.MessageID ?? '') }
					: {
							ok: false,
							retryable: false,
							reason: `Mailjet refused it: ${(r.Errors ?? []).map((e) => `${e.ErrorCode ?? ''} ${e.ErrorMessage ?? ''}${e.ErrorRelatedTo?.length ? ` (${e.ErrorRelatedTo.join(', ')})` : ''}`.trim()).join('; ') || r.Status}`,
						},
			);
		}
		const message = (body as { ErrorMessage?: string } | undefined)?.ErrorMessage;
		return all({ ok: false, retryable: false, reason: `Mailjet ${status}${message ? `: ${message}` : ''}` });
	}
}
