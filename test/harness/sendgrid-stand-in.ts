import type { IncomingHttpHeaders } from 'node:http';

import { StandIn, type StandInAnswer } from './stand-in.ts';

/**
 * SendGrid's v3 `POST /v3/mail/send` (Bearer API key), checked against its documented shape;
 * answers 202 with X-Message-Id, or 400 with its error list for recipients starting with "invalid".
 */
export class SendGridStandIn extends StandIn {
	readonly requests: Array<{ authorization: string | undefined; body: Record<string, unknown> }> = [];
	readonly apiKey: string;
	private sequence = 0;

	constructor(apiKey = 'SG.test-key') {
		super();
		this.apiKey = apiKey;
	}

	protected answer(method: string, url: string, headers: IncomingHttpHeaders, body: unknown): StandInAnswer {
		const authorization = headers.authorization;
		if (method === 'GET' && url === '/v3/scopes') {
			return authorization === `Bearer ${this.apiKey}` ? { status: 200, body: { scopes: ['mail.send'] } } : { status: 401, body: { errors: [{ message: 'authorization required' }] } };
		}
		if (method !== 'POST' || url !== '/v3/mail/send') return { status: 404, body: { errors: [{ message: 'not found' }] } };
		const mail = (body ?? {}) as Record<string, unknown>;
		this.requests.push({ authorization, body: mail });
		const personalizations = mail.personalizations as Array<{ to?: Array<{ email?: unknown }> }> | undefined;
		if (!Array.isArray(personalizations) || personalizations.length < 1 || personalizations.length > 1000) this.shapeErrors.push('personalizations: 1 to 1,000 required');
		for (const [i, p] of (personalizations ?? []).entries()) {
			if (!Array.isArray(p.to) || p.to.length === 0 || p.to.some((t) => typeof t.email !== 'string')) this.shapeErrors.push(`personalizations[${i}].to: a list of {email} required`);
		}
		if (typeof (mail.from as { email?: unknown } | undefined)?.email !== 'string') this.shapeErrors.push('from.email required');
		const subjects = (personalizations ?? []).every((p) => typeof (p as { subject?: unknown }).subject === 'string');
		if ((typeof mail.subject !== 'string' || !mail.subject) && !subjects) this.shapeErrors.push('subject required, in the message or in every personalization');
		const content = mail.content as Array<{ type?: unknown; value?: unknown }> | undefined;
		if (!Array.isArray(content) || content.length === 0 || content.some((c) => typeof c.type !== 'string' || typeof c.value !== 'string')) {
			this.shapeErrors.push('content: a list of {type, value} required');
		} else if (content[0].type !== 'text/plain' && content.some((c) => c.type === 'text/plain')) {
			this.shapeErrors.push('content: text/plain must come first');
		}
		if (mail.headers !== undefined && (typeof mail.headers !== 'object' || Object.values(mail.headers as object).some((v) => typeof v !== 'string'))) {
			this.shapeErrors.push('headers: an object of strings required');
		}
		if (Array.isArray(mail.categories) && mail.categories.length > 10) this.shapeErrors.push('categories: at most 10');
		if (authorization !== `Bearer ${this.apiKey}`) return { status: 401, body: { errors: [{ field: null, message: 'The provided authorization grant is invalid, expired, or revoked' }] } };
		const fail = this.forcedFailure();
		if (fail) return { status: fail.status, headers: fail.headers, body: { errors: [{ field: null, message: fail.status === 429 ? 'too many requests' : 'internal error' }] } };
		const to = personalizations?.[0]?.to?.[0]?.email;
		if (typeof to === 'string' && to.startsWith('invalid')) {
			return { status: 400, body: { errors: [{ field: 'personalizations.0.to.0.email', message: 'Does not contain a valid address.' }] } };
		}
		return { status: 202, body: undefined, headers: { 'x-message-id': `sg-${++this.sequence}` } };
	}
}
