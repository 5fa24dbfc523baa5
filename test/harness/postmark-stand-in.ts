import type { IncomingHttpHeaders } from 'node:http';

import { StandIn, type StandInAnswer } from './stand-in.ts';

/**
 * Postmark's batch endpoint (`POST /email/batch`, `X-Postmark-Server-Token`), checked against its
 * documented shape; answers per message (ErrorCode 406 for recipients starting with "inactive").
 */
export class PostmarkStandIn extends StandIn {
	readonly requests: Array<{ token: string | undefined; messages: Array<Record<string, unknown>> }> = [];
	readonly token: string;
	private sequence = 0;

	constructor(token = 'pm-test-token') {
		super();
		this.token = token;
	}

	protected answer(method: string, url: string, headers: IncomingHttpHeaders, body: unknown): StandInAnswer {
		const token = headers['x-postmark-server-token'] as string | undefined;
		if (method === 'GET' && url === '/server') {
			return token === this.token ? { status: 200, body: { Name: 'Stand-in' } } : { status: 401, body: { ErrorCode: 10, Message: 'Bad or missing Server API token.' } };
		}
		if (method !== 'POST' || url !== '/email/batch') return { status: 404, body: { ErrorCode: 404, Message: 'Not found' } };
		if (!Array.isArray(body)) this.shapeErrors.push('the body is not an array');
		const list = (Array.isArray(body) ? body : []) as Array<Record<string, unknown>>;
		this.requests.push({ token, messages: list });
		if (list.length > 500) this.shapeErrors.push(`${list.length} messages in one batch (at most 500)`);
		list.forEach((m, i) => {
			for (const field of ['From', 'To', 'Subject']) if (typeof m[field] !== 'string' || !m[field]) this.shapeErrors.push(`message ${i}: ${field} missing`);
			if (typeof m.HtmlBody !== 'string' && typeof m.TextBody !== 'string') this.shapeErrors.push(`message ${i}: no HtmlBody or TextBody`);
			if (typeof m.To === 'string' && m.To.split(',').length > 50) this.shapeErrors.push(`message ${i}: more than 50 recipients`);
			const list = m.Headers;
			if (list !== undefined && (!Array.isArray(list) || list.some((h: Record<string, unknown>) => typeof h?.Name !== 'string' || typeof h?.Value !== 'string'))) {
				this.shapeErrors.push(`message ${i}: Headers is not a list of {Name, Value}`);
			}
			if (m.MessageStream !== undefined && typeof m.MessageStream !== 'string') this.shapeErrors.push(`message ${i}: MessageStream is not text`);
		});
		if (token !== this.token) return { status: 401, body: { ErrorCode: 10, Message: 'Bad or missing Server API token.' } };
		const fail = this.forcedFailure();
		if (fail) return { status: fail.status, headers: fail.headers, body: { ErrorCode: fail.status, Message: fail.status === 429 ? 'Rate limit exceeded' : 'Internal server error' } };
		return {
			status: 200,
			body: list.map((m) =>
				String(m.To).startsWith('inactive')
					? { ErrorCode: 406, Message: 'You tried to send to a recipient that has been marked as inactive.', To: m.To }
					: { ErrorCode: 0, Message: 'OK', MessageID: `pm-${++this.sequence}`, To: m.To, SubmittedAt: new Date().toISOString() },
			),
		};
	}
}
