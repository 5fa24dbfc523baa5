import { type HttpCall, retryAfterMs } from '../http';
import { type EmailMessage, type EmailSender, postOrUnclear, type SendResult } from './provider';

/** A display name inside a quoted string, so that it cannot add addresses or headers. */
export function fromHeader(from: EmailMessage['from']): string {
	if (!from.name) return from.email;
	return `"${from.name.replace(/[\r\n]+/g, ' ').replace(/["\\]/g, '\\$&')}" <${from.email}>`;
}

interface PostmarkAnswer {
	ErrorCode?: number;
	Message?: string;
	MessageID?: string;
}

/**
 * Postmark's batch endpoint: up to 500 messages a call. It answers 200 with one result a message,
 * each with its own ErrorCode (0 is sent); 422 when the request as a whole is wrong; 401 for a bad
 * server token; 429 and 5xx for what may pass later.
 */
export class PostmarkSender implements EmailSender {
	readonly maxBatch = 500;

	private readonly http: HttpCall;
	private readonly stream: string;
	private readonly tag: string | undefined;

	constructor(http: HttpCall, options: { messageStream: string; tag?: string }) {
		this.http = http;
		this.stream = options.messageStream || 'outbound';
		this.tag = options.tag || undefined;
	}

	async sendBatch(messages: EmailMessage[]): Promise<SendResult[]> {
		const all = (result: SendResult) => messages.map(() => result);
		const body = messages.map((m) => ({
			From: fromHeader(m.from),
			To: m.to,
			ReplyTo: m.replyTo,
			Subject: m.subject,
			HtmlBody: m.html,
			TextBody: m.text,
			Headers: Object.entries(m.headers).map(([Name, Value]) => ({ Name, Value })),
			MessageStream: this.stream,
			// Metadata comes back with the message's webhooks: they find the send by it.
			...(m.key ? { Metadata: { rt_key: m.key.slice(0, 80) } } : {}),
			...(this.tag ? { Tag: this.tag.slice(0, 1000) } : {}),
		}));
		const response = await postOrUnclear(this.http, 'Postmark', '/email/batch', body);
		if ('ok' in response) return all(response);
		const { status } = response;
		const answers = response.body;
		const problem = answers as PostmarkAnswer | undefined;
		const reason = `Postmark ${status}${problem?.ErrorCode !== undefined ? ` (error ${problem.ErrorCode})` : ''}: ${problem?.Message ?? 'no message'}`;
		if (status === 401 || status === 403 || (status === 422 && problem?.ErrorCode === 10)) {
			return all({ ok: false, retryable: false, fatal: true, reason: `${reason.replace(/\.$/, '')}. Check the server token.` });
		}
		if (status === 429 || status >= 500) return all({ ok: false, retryable: true, reason, retryAfterMs: retryAfterMs(response.headers) });
		if (status !== 200 || !Array.isArray(answers) || answers.length !== messages.length) return all({ ok: false, retryable: false, reason });
		return (answers as PostmarkAnswer[]).map((answer) =>
			answer.ErrorCode === 0
				? { ok: true, providerId: String(answer.MessageID ?? '') }
				: { ok: false, retryable: false, reason: `Postmark error ${answer.ErrorCode}: ${answer.Message ?? ''}` },
		);
	}
}
