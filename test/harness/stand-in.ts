import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInAnswer {
	status: number;
	body: unknown;
	headers?: Record<string, string>;
}

/**
 * A local stand-in for a provider's API we cannot reach from here: an HTTP server on a free port
 * that checks requests against the provider's documented shape (`shapeErrors` collects what is
 * wrong) and can be told to answer the next requests with 429 or 5xx (`failNext`), or to handle
 * the next requests and then drop the connection without answering (`dropAnswers`).
 */
export abstract class StandIn {
	readonly shapeErrors: string[] = [];
	readonly failNext: Array<{ status: number; headers?: Record<string, string> }> = [];
	dropAnswers = 0;
	/** How long each answer takes, as a network round trip would. */
	latencyMs = 0;
	/** The most requests under way at once. */
	maxInFlight = 0;
	private inFlight = 0;
	private server?: Server;

	async start(): Promise<string> {
		this.server = createServer((req, res) => {
			this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
			res.on('close', () => this.inFlight--);
			const chunks: Buffer[] = [];
			req.on('data', (c: Buffer) => chunks.push(c));
			req.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				let body: unknown;
				// An OAuth2 token request is a form; the subclass reads it from the raw text.
				const form = String(req.headers['content-type']).includes('application/x-www-form-urlencoded');
				try {
					body = text && !form ? JSON.parse(text) : undefined;
				} catch {
					this.shapeErrors.push(`${req.method} ${req.url}: the body is not JSON`);
				}
				if (text && !form && !String(req.headers['content-type']).includes('application/json')) this.shapeErrors.push(`${req.method} ${req.url}: content-type is not application/json`);
				const answer = this.answer(req.method ?? 'GET', req.url ?? '/', req.headers, body, text);
				if (this.dropAnswers > 0) {
					this.dropAnswers--;
					return void req.socket.destroy();
				}
				const reply = () => {
					res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
					res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
				};
				if (this.latencyMs > 0) setTimeout(reply, this.latencyMs);
				else reply();
			});
		});
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
		return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
	}

	async stop(): Promise<void> {
		await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
	}

	/** The next forced failure, if one is queued. */
	protected forcedFailure(): { status: number; headers?: Record<string, string> } | undefined {
		return this.failNext.shift();
	}

	protected abstract answer(method: string, url: string, headers: IncomingHttpHeaders, body: unknown, raw: string): StandInAnswer;
}
