/** The one shape of an HTTP call to a provider or ad partner, free of n8n: what the senders and pushers take. */

export interface HttpRequest {
	method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
	/** Under the credential's API URL. */
	path: string;
	headers?: Record<string, string>;
	body?: unknown;
}

export interface HttpAnswer {
	status: number;
	headers: Record<string, unknown>;
	body: unknown;
}

/** One HTTP call through n8n, authenticated by the credential. */
export type HttpCall = (request: HttpRequest) => Promise<HttpAnswer>;

/** Seconds of a Retry-After header, as milliseconds. */
export function retryAfterMs(headers: Record<string, unknown>): number | undefined {
	const value = Number(headers['retry-after']);
	return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
}
