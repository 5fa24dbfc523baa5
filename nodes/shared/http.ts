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

/**
 * The longest a run waits when a provider or partner asks it to (Retry-After, a rate-limit reset).
 * Asked for longer (a daily quota resets in hours), the run does not try again: the items fail with
 * the wait in their reason and a later run sends them, instead of an n8n execution held for hours.
 */
const LONGEST_ASKED_WAIT_MS = 60_000;

/** How many times a call is tried, and the first wait between tries (doubled each time). */
export interface RetryPolicy {
	attempts: number;
	baseDelayMs: number;
}

/** Three attempts, the waits growing from one second: what every partner and provider call uses unless told otherwise. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 1000 };

/**
 * How long to wait before trying again after `attempt`: twice as long each time, or as long as the
 * provider or partner asked; undefined when it asked for longer than a run waits.
 */
export function waitBeforeRetry(policy: RetryPolicy, attempt: number, askedMs: number): number | undefined {
	return askedMs > LONGEST_ASKED_WAIT_MS ? undefined : Math.max(policy.baseDelayMs * 2 ** (attempt - 1), askedMs);
}

/** The reason of a failure whose retry was asked for later than a run waits. */
export function askedToWaitTooLong(reason: string, waitMs: number): string {
	return `${reason}; asked to wait ${Math.ceil(waitMs / 1000)} s, longer than a run waits (${LONGEST_ASKED_WAIT_MS / 1000} s): run again later`;
}

/** Seconds of a Retry-After header, as milliseconds. */
export function retryAfterMs(headers: Record<string, unknown>): number | undefined {
	const value = Number(headers['retry-after']);
	return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
}
