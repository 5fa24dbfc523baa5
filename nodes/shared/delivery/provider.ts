import type { HttpAnswer, HttpCall } from '../http';

/** What every email provider of ESP Send takes and answers. */

export interface EmailMessage {
	to: string;
	from: { email: string; name?: string };
	replyTo?: string;
	subject: string;
	html: string;
	text: string;
	headers: Record<string, string>;
	/** The send's idempotency key, for providers that can carry it (Mailjet's CustomID). */
	key?: string;
}

/**
 * A failure is `retryable` when trying again cannot cause a double, `unknown` when the message may
 * have been delivered (the connection dropped mid-way): never sent again by a later execution (it
 * is also `retryable` only where the provider drops repeats of a call); `fatal` when no message
 * can go through this server (login refused, host unknown).
 */
export type SendResult =
	| { ok: true; providerId: string }
	| { ok: false; retryable: boolean; reason: string; unknown?: boolean; fatal?: boolean; retryAfterMs?: number };

/** A provider: how many messages one call may carry, and the call, with one result a message. */
export interface EmailSender {
	readonly maxBatch: number;
	sendBatch(messages: EmailMessage[]): Promise<SendResult[]>;
}

/**
 * POSTs to a provider; when no answer comes back (a network error, a timeout), whether the emails
 * were taken is unknown, so they get an `unknown` failure: never sent again.
 */
export async function postOrUnclear(http: HttpCall, provider: string, path: string, body: unknown): Promise<HttpAnswer | SendResult> {
	try {
		return await http({ method: 'POST', path, body });
	} catch (error) {
		return { ok: false, retryable: false, unknown: true, reason: `${provider} did not answer: ${(error as Error).message}` };
	}
}
