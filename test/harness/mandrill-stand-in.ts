import type { IncomingHttpHeaders } from 'node:http';

import { StandIn, type StandInAnswer } from './stand-in.ts';

/**
 * Mailchimp Transactional (Mandrill) `POST /api/1.0/messages/send`, the API key in the body,
 * checked against its documented shape. Recipients starting with "bounce" are rejected
 * (hard-bounce); a wrong key gets Mandrill's 500 Invalid_Key.
 */
export class MandrillStandIn extends StandIn {
	readonly requests: Array<{ key: unknown; message: Record<string, unknown> }> = [];
	readonly apiKey = 'md-test-key';
	private sequence = 0;

	protected answer(method: string, url: string, _headers: IncomingHttpHeaders, body: unknown): StandInAnswer {
		const request = (body ?? {}) as { key?: unknown; message?: Record<string, unknown> };
		const invalidKey = { status: 500, body: { status: 'error', code: -1, name: 'Invalid_Key', message: 'Invalid API key' } };
		if (method === 'POST' && url === '/api/1.0/users/ping') return request.key === this.apiKey ? { status: 200, body: 'PONG!' } : invalidKey;
		if (method !== 'POST' || url !== '/api/1.0/messages/send') return { status: 404, body: { status: 'error', name: 'Unknown_Method' } };
		const message = request.message ?? {};
		this.requests.push({ key: request.key, message });
		if (typeof message.html !== 'string' && typeof message.text !== 'string') this.shapeErrors.push('message: html or text required');
		if (typeof message.subject !== 'string') this.shapeErrors.push('message.subject required');
		if (typeof message.from_email !== 'string') this.shapeErrors.push('message.from_email required');
		const to = message.to as Array<{ email?: unknown; type?: unknown }> | undefined;
		if (!Array.isArray(to) || to.length === 0 || to.some((t) => typeof t.email !== 'string' || (t.type !== undefined && !['to', 'cc', 'bcc'].includes(String(t.type))))) {
			this.shapeErrors.push('message.to: a list of {email, type} required');
		}
		if (message.headers !== undefined && (typeof message.headers !== 'object' || Object.values(message.headers as object).some((v) => typeof v !== 'string'))) {
			this.shapeErrors.push('message.headers: an object of strings required');
		}
		const tags = message.tags as unknown[] | undefined;
		if (tags !== undefined && (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || t.length > 50 || t.startsWith('_')))) this.shapeErrors.push('message.tags: strings of at most 50, not starting with _');
		if (request.key !== this.apiKey) return invalidKey;
		const fail = this.forcedFailure();
		if (fail) return { status: fail.status, headers: fail.headers, body: { status: 'error', code: -99, name: fail.status === 429 ? 'Too_Many_Requests' : 'GeneralError', message: 'try again later' } };
		return {
			status: 200,
			body: (to ?? []).map((t) =>
				String(t.email).startsWith('bounce')
					? { email: t.email, status: 'rejected', reject_reason: 'hard-bounce', _id: `md-${++this.sequence}` }
					: { email: t.email, status: 'sent', reject_reason: null, _id: `md-${++this.sequence}` },
			),
		};
	}
}
