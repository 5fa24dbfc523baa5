import type { IncomingHttpHeaders } from 'node:http';

import { StandIn, type StandInAnswer } from './stand-in.ts';

/**
 * Brevo's `POST /v3/smtp/email` (api-key header) in its batch form, checked against its documented
 * shape. A batch holding a recipient that starts with "invalid" is refused as a whole (400, nothing
 * sent), as Brevo does. An idempotency key must be a UUID; one already processed is refused
 * (400 duplicate_parameter) and sends nothing, as Brevo documents.
 */
export class BrevoStandIn extends StandIn {
	readonly requests: Array<{ apiKey: string | undefined; body: Record<string, unknown> }> = [];
	/** Every message taken for delivery, by recipient. */
	readonly delivered: string[] = [];
	readonly apiKey = 'xkeysib-test';
	private readonly seen = new Set<string>();
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
		if (key !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(key)) this.shapeErrors.push(`headers.idempotencyKey: "${key}" is not a UUID`);
		if (key && this.seen.has(key)) return { status: 400, body: { code: 'duplicate_parameter', message: 'The idempotency key has already been used' } };
		const fail = this.forcedFailure();
		if (fail) return { status: fail.status, headers: fail.headers, body: { code: fail.status === 429 ? 'too_many_requests' : 'internal_error', message: fail.status === 429 ? 'Rate limit exceeded' : 'Internal error' } };
		const recipients = (versions ?? []).map((v) => String((v.to as Array<{ email: string }>)[0]?.email));
		const invalid = recipients.find((r) => r.startsWith('invalid'));
		if (invalid) return { status: 400, body: { code: 'invalid_parameter', message: `email is not valid in to: ${invalid}` } };
		this.delivered.push(...recipients);
		if (key) this.seen.add(key);
		return { status: 201, body: { messageIds: recipients.map(() => `<brevo-${++this.sequence}@smtp-relay.mailin.fr>`) } };
	}
}
