import type { IncomingHttpHeaders } from 'node:http';

import { StandIn, type StandInAnswer } from './stand-in.ts';

/**
 * Mailjet's Send API v3.1 (`POST /v3.1/send`, Basic auth with the API key and secret), checked
 * against its documented shape. Recipients starting with "invalid" are refused one by one: the
 * answer is then 400 with one status a message, the others sent (Mailjet's partial success).
 */
export class MailjetStandIn extends StandIn {
	readonly requests: Array<{ authorization: string | undefined; messages: Array<Record<string, unknown>> }> = [];
	readonly apiKey = 'mj-key';
	readonly apiSecret = 'mj-secret';
	private sequence = 0;

	protected answer(method: string, url: string, headers: IncomingHttpHeaders, body: unknown): StandInAnswer {
		const authorization = headers.authorization;
		const expected = `Basic ${Buffer.from(`${this.apiKey}:${this.apiSecret}`).toString('base64')}`;
		if (method === 'GET' && url === '/v3/REST/apikey') return authorization === expected ? { status: 200, body: { Count: 1 } } : { status: 401, body: {} };
		if (method !== 'POST' || url !== '/v3.1/send') return { status: 404, body: { ErrorMessage: 'Not found' } };
		const messages = (body as { Messages?: unknown } | undefined)?.Messages;
		if (!Array.isArray(messages) || messages.length === 0) this.shapeErrors.push('Messages: a non-empty list required');
		const list = (Array.isArray(messages) ? messages : []) as Array<Record<string, unknown>>;
		this.requests.push({ authorization, messages: list });
		if (list.length > 50) this.shapeErrors.push(`${list.length} messages in one call (at most 50)`);
		list.forEach((m, i) => {
			if (typeof (m.From as { Email?: unknown } | undefined)?.Email !== 'string') this.shapeErrors.push(`Messages[${i}].From.Email required`);
			if (!Array.isArray(m.To) || m.To.length === 0 || m.To.some((t: { Email?: unknown }) => typeof t.Email !== 'string')) this.shapeErrors.push(`Messages[${i}].To: a list of {Email} required`);
			if (typeof m.Subject !== 'string') this.shapeErrors.push(`Messages[${i}].Subject required`);
			if (typeof m.TextPart !== 'string' && typeof m.HTMLPart !== 'string') this.shapeErrors.push(`Messages[${i}]: TextPart or HTMLPart required`);
			if (m.Headers !== undefined && (typeof m.Headers !== 'object' || Object.values(m.Headers as object).some((v) => typeof v !== 'string'))) {
				this.shapeErrors.push(`Messages[${i}].Headers: an object of strings required`);
			}
			if (m.CustomID !== undefined && (typeof m.CustomID !== 'string' || m.CustomID.length > 255)) this.shapeErrors.push(`Messages[${i}].CustomID: text of at most 255`);
		});
		if (authorization !== expected) return { status: 401, body: { ErrorMessage: 'API key authentication/authorization failure' } };
		const fail = this.forcedFailure();
		if (fail) return { status: fail.status, headers: fail.headers, body: { ErrorMessage: fail.status === 429 ? 'Too many requests' : 'Internal error' } };
		const results = list.map((m) => {
			const email = String((m.To as Array<{ Email: string }>)[0]?.Email);
			return email.startsWith('invalid')
				? { Status: 'error', Errors: [{ ErrorCode: 'mj-0013', StatusCode: 400, ErrorMessage: `"${email}" is an invalid email address.`, ErrorRelatedTo: ['To[0].Email'] }] }
				: { Status: 'success', CustomID: m.CustomID ?? '', To: [{ Email: email, MessageUUID: `mj-${++this.sequence}`, MessageID: this.sequence }] };
		});
		return { status: results.some((r) => r.Status === 'error') ? 400 : 200, body: { Messages: results } };
	}
}
