import { type HttpCall, retryAfterMs } from '../http';
import { type EmailMessage, type EmailSender, postOrUnclear, type SendResult } from './provider';

interface RecipientStatus {
	email?: string;
	status?: string;
	reject_reason?: string | null;
	_id?: string;
}

/**
 * Mailchimp Transactional (Mandrill) `messages/send`. Each email is rendered for its person, so
 * each call carries one message. It answers 200 with one status a recipient: sent, queued or
 * scheduled count as sent; rejected (with reject_reason) and invalid as failed. Errors come as
 * `{status: "error", name, message}`: Invalid_Key stops the run; a rate limit (429) or a server
 * error (5xx) may pass later. The API key travels in the body, as Mandrill asks.
 */
export class MandrillSender implements EmailSender {
	readonly maxBatch = 1;

	private readonly http: HttpCall;
	private readonly tags: string[];

	constructor(http: HttpCall, options: { tag?: string } = {}) {
		this.http = http;
		// Mandrill tags: at most 50 characters, none starting with an underscore.
		const tag = options.tag?.replace(/^_+/, '').slice(0, 50);
		this.tags = tag ? [tag] : [];
	}

	async sendBatch(messages: EmailMessage[]): Promise<SendResult[]> {
		const results: SendResult[] = [];
		for (const message of messages) results.push(await this.send(message));
		return results;
	}

	private async send(m: EmailMessage): Promise<SendResult> {
		const response = await postOrUnclear(this.http, 'Mailchimp Transactional', '/api/1.0/messages/send', {
			message: {
				html: m.html,
				text: m.text,
				subject: m.subject,
				from_email: m.from.email,
				...(m.from.name ? { from_name: m.from.name } : {}),
				to: [{ email: m.to, type: 'to' }],
				headers: { ...m.headers, ...(m.replyTo ? { 'Reply-To': m.replyTo } : {}) },
				...(this.tags.length ? { tags: this.tags } : {}),
				...(m.key ? { metadata: { rt_key: m.key.slice(0, 200) } } : {}),
			},
		});
		if ('ok' in response) return response;
		const { status, body } = response;
		if (status === 200 && Array.isArray(body) && body.length > 0) {
			const [recipient] = body as RecipientStatus[];
			if (recipient.status === 'sent' || recipient.status === 'queued' || recipient.status === 'scheduled') return { ok: true, providerId: String(recipient._id ?? '') };
			return { ok: false, retryable: false, reason: `Mailchimp Transactional ${recipient.status ?? 'refused'} it${recipient.reject_reason ? `: ${recipient.reject_reason}` : ''}` };
		}
		const error = body as { name?: string; message?: string } | undefined;
		const reason = `Mailchimp Transactional ${status}: ${error?.name ?? 'error'}${error?.message ? ` (${error.message})` : ''}`;
		if (error?.name === 'Invalid_Key' || status === 401 || status === 403) return { ok: false, retryable: false, fatal: true, reason: `${reason}. Check the API key.` };
		if (status === 429 || (status >= 500 && error?.name !== 'ValidationError')) return { ok: false, retryable: true, reason, retryAfterMs: retryAfterMs(response.headers) };
		return { ok: false, retryable: false, reason };
	}
}
