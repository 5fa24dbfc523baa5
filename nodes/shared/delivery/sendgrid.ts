import { type HttpCall } from '../http';
import { type EmailMessage, type EmailSender, postOrUnclear, type SendResult } from './provider';

interface SendGridErrors {
	errors?: Array<{ message?: string; field?: string | null }>;
}

/**
 * SendGrid v3 `mail/send`. One request carries one content for up to 1,000 personalizations; the
 * emails here are rendered per person, so each request carries one message. It answers 202 with
 * X-Message-Id; 400 with the fields it refuses; 401/403 for a key without the Mail Send scope; 429
 * with X-RateLimit-Reset (when the limit resets, in Unix seconds); 5xx for what may pass later.
 */
export class SendGridSender implements EmailSender {
	readonly maxBatch = 1;

	private readonly http: HttpCall;
	private readonly categories: string[];
	private readonly now: () => number;

	constructor(http: HttpCall, options: { category?: string; now?: () => number } = {}) {
		this.http = http;
		this.categories = options.category ? [options.category.slice(0, 255)] : [];
		this.now = options.now ?? Date.now;
	}

	async sendBatch(messages: EmailMessage[]): Promise<SendResult[]> {
		const results: SendResult[] = [];
		for (const message of messages) results.push(await this.send(message));
		return results;
	}

	private async send(m: EmailMessage): Promise<SendResult> {
		const response = await postOrUnclear(this.http, 'SendGrid', '/v3/mail/send', {
			personalizations: [{ to: [{ email: m.to }] }],
			from: { email: m.from.email, ...(m.from.name ? { name: m.from.name } : {}) },
			...(m.replyTo ? { reply_to: { email: m.replyTo } } : {}),
			subject: m.subject,
			content: [
				{ type: 'text/plain', value: m.text },
				{ type: 'text/html', value: m.html },
			],
			headers: m.headers,
			// Custom args come back on every event of the message: the event webhook finds the send by it.
			...(m.key ? { custom_args: { rt_key: m.key } } : {}),
			...(this.categories.length ? { categories: this.categories } : {}),
		});
		if ('ok' in response) return response;
		const { status, headers } = response;
		if (status === 202 || status === 200) return { ok: true, providerId: String(headers['x-message-id'] ?? '') };
		const errors = (response.body as SendGridErrors | undefined)?.errors ?? [];
		const reason = `SendGrid ${status}: ${errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ') || 'no message'}`;
		if (status === 401 || status === 403) return { ok: false, retryable: false, fatal: true, reason: `${reason}. Check the API key and its Mail Send permission.` };
		if (status === 429 || status >= 500) {
			const reset = Number(headers['x-ratelimit-reset']);
			return { ok: false, retryable: true, reason, retryAfterMs: Number.isFinite(reset) ? Math.max(0, reset * 1000 - this.now()) : undefined };
		}
		return { ok: false, retryable: false, reason };
	}
}
