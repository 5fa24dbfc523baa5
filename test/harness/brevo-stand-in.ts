import type { IncomingHttpHeaders } from 'node:http';

import { StandIn, type StandInAnswer } from './stand-in.ts';

/**
 * Brevo's `POST /v3/smtp/email` (api-key header) in its batch form, checked against its documented
 * shape. A batch holding a recipient that starts with "invalid" is refused as a whole (400, nothing
 * sent), as Brevo does. A repeated idempotency key answers as the first call did and sends nothing.
 */
export class BrevoStandIn extends StandIn {
	readonly requests: Array<{ apiKey: string | undefined; body: Record<string, unknown> }> = [];
	/** Every message taken for delivery, by recipient. */
	readonly delivered: string[] = [];
	readonly apiKey = 'xkeysib-test';
	private readonly seen = new Map<string, StandInAnswer>();
	private sequence = 0;

	protected answer(method: string, url: string, headers: IncomingHttpHeaders, body: unknown): StandInAnswer {
		const apiKey = headers['api-key'] as string | undefined;
		if (method === 'GET' && url === '/v3/account') return apiKey === this.apiKey ? { status: 200, body: { email: 'owner@example.com' } } : { status: 401, body: { code: 'unauthorized', message: 'Key not found' } };
		if (method !== 'POST' || url !== '/v3/smtp/email') return { status: 404, body: { code: 'not_found', message: 'Not found' } };
		const mail = (body ?? {}) as Record<string, unknown>;
		this.requests.push({ apiKey, body: mail });
		const versions = mail.messageVersions as Array<Record<string, unknown>> | undefined;
		if (typeof (mail.sender as { email?: unknown } | undefined)?.email !== 'string') this.shapeErrors.push('sender.email required');
		if (typeof mail.htmlContent !== 'string' && typeof mail.textContent !== 'string') this.shapeErrors.push('htmlContent or textContent required without templateId');
		if (typeof mail.subject !== 'string') this.shapeErrors.push('subject required without templateId');
		if (!Array.isArray(versions) || versions.length < 1 || versions.length > 1000) this.shapeErrors.push('messageVersions: 1 to 1,000 required');
		const stringMap = (value: unknown) => value === undefined || (typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string'));
		if (!stringMap(mail.headers)) this.shapeErrors.push('headers: an object of strings required');
		for (const [i, v] of (versions ?? []).entries()) {
			if (!Array.isArray(v.to) || v.to.length === 0 || v.to.length > 99 || v.to.some((t: { email?: unknown }) => typeof t.email !== 'string')) {
				this.shapeErrors.push(`messageVersions[${i}].to: 1 to 99 {email} required`);
			}
			if (v.subject !== undefined && typeof v.subject !== 'string') this.shapeErrors.push(`messageVersions[${i}].subject: text required`);
			if (!stringMap(v.headers)) this.shapeErrors.push(`messageVersions[${i}].headers: an object of strings required`);
			for (const value of Object.values((v.headers ?? {}) as Record<string, string>)) {
				if (!/^[\x20-\x7e]*$/.test(value)) this.shapeErrors.push(`messageVersions[${i}].headers: Brevo sends non-ASCII header values unencoded`);
			}
		}
		if (apiKey !== this.apiKey) return { status: 401, body: { code: 'unauthorized', message: 'Key not found' } };
		const key = (mail.headers as Record<string, string> | undefined)?.idempotencyKey;
		const repeat = key ? this.seen.get(key) : undefined;
		if (repeat) return repeat;
		const fail = this.forcedFailure();
		if (fail) return { status: fail.status, headers: fail.headers, body: { code: fail.status === 429 ? 'too_many_requests' : 'internal_error', message: fail.status === 429 ? 'Rate limit exceeded' : 'Internal error' } };
		const recipients = (versions ?? []).map((v) => String((v.to as Array<{ email: string }>)[0]?.email));
		const invalid = recipients.find((r) => r.startsWith('invalid'));
		if (invalid) return { status: 400, body: { code: 'invalid_parameter', message: `email is not valid in to: ${invalid}` } };
		this.delivered.push(...recipients);
		const answer = { status: 201, body: { messageIds: recipients.map(() => `<brevo-${++this.sequence}@smtp-relay.mailin.fr>`) } };
		if (key) this.seen.set(key, answer);
		return answer;
	}
}
