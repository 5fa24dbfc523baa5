import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Postmark's batch endpoint (`POST /email/batch`, `X-Postmark-Server-Token`),
 * which we cannot reach from here. It checks each request against Postmark's documented shape and
 * records what it finds wrong; answers per message (ErrorCode 406 for recipients starting with
 * "inactive"); and can be told to answer the next requests with 429 or 5xx.
 */
export class PostmarkStandIn {
	readonly requests: Array<{ token: string | undefined; messages: Array<Record<string, unknown>> }> = [];
	readonly shapeErrors: string[] = [];
	/** Answers for the next requests, used up in order. */
	readonly failNext: Array<{ status: number; retryAfter?: number }> = [];
	private server?: Server;
	private sequence = 0;

	readonly token: string;

	constructor(token = 'pm-test-token') {
		this.token = token;
	}

	async start(): Promise<string> {
		this.server = createServer((req, res) => {
			void this.handle(req).then(({ status, body, headers }) => {
				res.writeHead(status, { 'content-type': 'application/json', ...headers });
				res.end(JSON.stringify(body));
			});
		});
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
		return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
	}

	async stop(): Promise<void> {
		await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
	}

	private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
		const chunks: Buffer[] = [];
		for await (const chunk of req) chunks.push(chunk as Buffer);
		const token = req.headers['x-postmark-server-token'] as string | undefined;
		if (req.method === 'GET' && req.url === '/server') {
			return token === this.token ? { status: 200, body: { Name: 'Stand-in' } } : { status: 401, body: { ErrorCode: 10, Message: 'Bad or missing Server API token.' } };
		}
		if (req.method !== 'POST' || req.url !== '/email/batch') return { status: 404, body: { ErrorCode: 404, Message: 'Not found' } };
		let messages: unknown;
		try {
			messages = JSON.parse(Buffer.concat(chunks).toString('utf8'));
		} catch {
			this.shapeErrors.push('the body is not JSON');
			return { status: 422, body: { ErrorCode: 400, Message: 'Invalid JSON' } };
		}
		if (!Array.isArray(messages)) this.shapeErrors.push('the body is not an array');
		const list = (Array.isArray(messages) ? messages : []) as Array<Record<string, unknown>>;
		this.requests.push({ token, messages: list });
		if (req.headers['content-type']?.toString().includes('application/json') !== true) this.shapeErrors.push('content-type is not application/json');
		if (list.length > 500) this.shapeErrors.push(`${list.length} messages in one batch (at most 500)`);
		list.forEach((m, i) => {
			for (const field of ['From', 'To', 'Subject']) if (typeof m[field] !== 'string' || !m[field]) this.shapeErrors.push(`message ${i}: ${field} missing`);
			if (typeof m.HtmlBody !== 'string' && typeof m.TextBody !== 'string') this.shapeErrors.push(`message ${i}: no HtmlBody or TextBody`);
			if (typeof m.To === 'string' && m.To.split(',').length > 50) this.shapeErrors.push(`message ${i}: more than 50 recipients`);
			const headers = m.Headers;
			if (headers !== undefined && (!Array.isArray(headers) || headers.some((h: Record<string, unknown>) => typeof h?.Name !== 'string' || typeof h?.Value !== 'string'))) {
				this.shapeErrors.push(`message ${i}: Headers is not a list of {Name, Value}`);
			}
			if (m.MessageStream !== undefined && typeof m.MessageStream !== 'string') this.shapeErrors.push(`message ${i}: MessageStream is not text`);
		});
		if (token !== this.token) return { status: 401, body: { ErrorCode: 10, Message: 'Bad or missing Server API token.' } };
		const fail = this.failNext.shift();
		if (fail) {
			return {
				status: fail.status,
				body: { ErrorCode: fail.status, Message: fail.status === 429 ? 'Rate limit exceeded' : 'Internal server error' },
				headers: fail.retryAfter !== undefined ? { 'retry-after': String(fail.retryAfter) } : undefined,
			};
		}
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
