import { createHash } from 'node:crypto';

import { type HttpCall } from '../http';
import { type EmailMessage, type EmailSender, postOrUnclear, type SendResult } from './provider';

interface BrevoAnswer {
	code?: string;
	message?: string;
	messageId?: string;
	messageIds?: string[];
}

/**
 * Brevo's `POST /v3/smtp/email` in batch form: one request carries up to 1,000 message versions,
 * each with its own recipient, subject, HTML, text and headers. It answers 201 with one message ID
 * a version; 400 when any version is refused, and then none is sent; 401 for a bad key; 402 when
 * the account has no credits left; 429 with x-sib-ratelimit-reset (seconds until the limit
 * resets); 5xx for what may pass later.
 *
 * Each request carries an idempotency key (a UUID made from its messages' keys): Brevo processes a
 * key once and refuses a repeat within its time-to-live (at least 15 minutes) with
 * `duplicate_parameter`, so a call that got no answer can be made again within the retries, and a
 * refused repeat means the first call went through.
 */
export class BrevoSender implements EmailSender {
	readonly maxBatch = 1000;

	private readonly http: HttpCall;
	private readonly tags: string[];

	constructor(http: HttpCall, options: { tag?: string } = {}) {
		this.http = http;
		this.tags = options.tag ? [options.tag] : [];
	}

	async sendBatch(messages: EmailMessage[]): Promise<SendResult[]> {
		const all = (result: SendResult) => messages.map(() => result);
		const first = messages[0];
		const request = {
			sender: address(first.from),
			// The top-level subject and content are required even when every version has its own.
			subject: first.subject,
			htmlContent: first.html,
			textContent: first.text,
			headers: { idempotencyKey: batchKey(messages) },
			...(this.tags.length ? { tags: this.tags } : {}),
			messageVersions: messages.map((m) => ({
				to: [{ email: m.to }],
				...(m.replyTo ? { replyTo: { email: m.replyTo } } : {}),
				subject: m.subject,
				htmlContent: m.html,
				textContent: m.text,
				// X-Mailin-custom comes back with the message's webhooks: they find the send by it.
				headers: m.key ? { ...m.headers, 'X-Mailin-custom': m.key } : m.headers,
			})),
		};
		const response = await postOrUnclear(this.http, 'Brevo', '/v3/smtp/email', request);
		// Unanswered: sent again under the same key while the retries last; still unanswered, never again.
		if ('ok' in response) return all(response.ok ? response : { ...response, retryable: true });
		const { status, headers } = response;
		const answer = (response.body ?? {}) as BrevoAnswer;
		const reason = `Brevo ${status}${answer.code ? ` (${answer.code})` : ''}: ${answer.message ?? 'no message'}`;
		if (status === 201 || status === 200 || status === 202) {
			const ids = answer.messageIds ?? (answer.messageId ? [answer.messageId] : []);
			return messages.map((_, i) => ({ ok: true, providerId: String(ids[i] ?? '') }));
		}
		if (status === 401 || status === 402 || status === 403) {
			const fix = status === 402 ? 'Add email credits to the Brevo account.' : 'Check the API key (an SMTP key does not work here).';
			return all({ ok: false, retryable: false, fatal: true, reason: `${reason.replace(/\.$/, '')}. ${fix}` });
		}
		if (status === 429 || status >= 500) {
			const reset = Number(headers['x-sib-ratelimit-reset']);
			return all({ ok: false, retryable: true, reason, retryAfterMs: Number.isFinite(reset) && reset >= 0 ? reset * 1000 : undefined });
		}
		// The key was processed by an earlier call of ours that got no clear answer: that call sent them.
		if (answer.code === 'duplicate_parameter') return all({ ok: true, providerId: '' });
		// A batch refused for a parameter (an address Brevo will not take) sends nothing: each
		// message alone finds the one refused.
		if (status === 400 && answer.code === 'invalid_parameter' && messages.length > 1) {
			const results: SendResult[] = [];
			for (const message of messages) results.push(...(await this.sendBatch([message])));
			return results;
		}
		return all({ ok: false, retryable: false, reason });
	}
}

function address(from: EmailMessage['from']): { email: string; name?: string } {
	return { email: from.email, ...(from.name ? { name: from.name } : {}) };
}

/** The same messages give the same key, so a retried call is recognised as a repeat; shaped as the UUID Brevo asks for. */
function batchKey(messages: EmailMessage[]): string {
	const hash = createHash('sha256');
	for (const m of messages) hash.update(`${m.key ?? m.to}\n`);
	const hex = hash.digest('hex');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
