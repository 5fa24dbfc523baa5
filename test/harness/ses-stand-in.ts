import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

import { StandIn, type StandInAnswer } from './stand-in.ts';

/**
 * Amazon SES API v2 (`POST /v2/email/outbound-emails`, `GET /v2/email/account`). Each request's
 * Signature Version 4 is checked by this stand-in's own computation, over the bytes received.
 * Recipients starting with "invalid" are refused (MessageRejected, as in the SES sandbox); the
 * configuration set "missing" does not exist.
 */
export class SesStandIn extends StandIn {
	readonly requests: Array<{ body: Record<string, unknown>; authorization: string }> = [];
	readonly delivered: string[] = [];
	readonly accessKeyId = 'AKIATESTSTANDIN';
	/** Made anew for each stand-in: a key with the / and + that AWS secret keys hold. */
	readonly secretAccessKey = `${randomBytes(15).toString('base64')}/+`;
	readonly region = 'eu-west-1';
	private sequence = 0;

	protected answer(method: string, url: string, headers: IncomingHttpHeaders, body: unknown, raw: string): StandInAnswer {
		const error = (status: number, type: string, message: string): StandInAnswer => ({ status, headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazonaws.sesv2/` }, body: { message } });
		const signature = this.checkSignature(method, url, headers, raw);
		if (signature) return error(403, signature.type, signature.message);
		if (method === 'GET' && url === '/v2/email/account') return { status: 200, body: { SendingEnabled: true, ProductionAccessEnabled: true, EnforcementStatus: 'HEALTHY' } };
		if (method !== 'POST' || url !== '/v2/email/outbound-emails') return error(404, 'NotFoundException', 'Not found');
		const mail = (body ?? {}) as Record<string, unknown>;
		this.requests.push({ body: mail, authorization: String(headers.authorization) });
		const to = (mail.Destination as { ToAddresses?: unknown } | undefined)?.ToAddresses;
		if (typeof mail.FromEmailAddress !== 'string' || !/^[\x20-\x7e]+$/.test(mail.FromEmailAddress)) this.shapeErrors.push('FromEmailAddress: ASCII text required (names as RFC 2047 encoded words)');
		if (!Array.isArray(to) || to.length < 1 || to.length > 50 || to.some((t) => typeof t !== 'string')) this.shapeErrors.push('Destination.ToAddresses: 1 to 50 addresses required');
		const simple = (mail.Content as { Simple?: Record<string, unknown> } | undefined)?.Simple;
		const content = (value: unknown) => typeof (value as { Data?: unknown } | undefined)?.Data === 'string';
		if (!simple || !content(simple.Subject)) this.shapeErrors.push('Content.Simple.Subject.Data required');
		const bodies = (simple?.Body ?? {}) as Record<string, unknown>;
		if (!content(bodies.Text) && !content(bodies.Html)) this.shapeErrors.push('Content.Simple.Body: Text or Html required');
		const messageHeaders = simple?.Headers as Array<{ Name?: unknown; Value?: unknown }> | undefined;
		if (messageHeaders !== undefined) {
			if (!Array.isArray(messageHeaders) || messageHeaders.length > 15) this.shapeErrors.push('Content.Simple.Headers: a list of at most 15');
			for (const h of messageHeaders ?? []) {
				if (typeof h.Name !== 'string' || !/^[\x21-\x39\x3b-\x7e]{1,126}$/.test(h.Name)) this.shapeErrors.push(`header name ${String(h.Name)}: printable ASCII without colon, at most 126`);
				if (typeof h.Value !== 'string' || !/^[\x20-\x7e]{1,870}$/.test(h.Value)) this.shapeErrors.push(`header ${String(h.Name)}: printable ASCII value of at most 870`);
			}
		}
		for (const tag of (mail.EmailTags ?? []) as Array<{ Name?: unknown; Value?: unknown }>) {
			if (![tag.Name, tag.Value].every((v) => typeof v === 'string' && /^[A-Za-z0-9_-]{1,256}$/.test(v))) this.shapeErrors.push('EmailTags: names and values of letters, digits, _ and -');
		}
		if (mail.ConfigurationSetName === 'missing') return error(404, 'NotFoundException', 'Configuration set <missing> does not exist.');
		const fail = this.forcedFailure();
		if (fail) return { ...error(fail.status, fail.status === 429 ? 'TooManyRequestsException' : 'InternalFailure', fail.status === 429 ? 'Too many requests' : 'Internal failure'), ...(fail.headers ? { headers: fail.headers } : {}) };
		const recipient = String((to as string[] | undefined)?.[0]);
		if (recipient.startsWith('invalid')) {
			return error(400, 'MessageRejected', `Email address is not verified. The following identities failed the check in region ${this.region.toUpperCase()}: ${recipient}`);
		}
		this.delivered.push(recipient);
		return { status: 200, body: { MessageId: `0102019ses-${++this.sequence}-000000` } };
	}

	/** What is wrong with the request's signature, if anything. */
	private checkSignature(method: string, url: string, headers: IncomingHttpHeaders, raw: string): { type: string; message: string } | undefined {
		const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(String(headers.authorization ?? ''));
		if (!match) return { type: 'IncompleteSignatureException', message: 'Authorization header requires Credential, SignedHeaders and Signature' };
		const [, keyId, day, region, service, signedHeaders, signature] = match;
		if (keyId !== this.accessKeyId) return { type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
		if (region !== this.region || service !== 'ses') return { type: 'SignatureDoesNotMatch', message: `Credential should be scoped to a valid region (${this.region}) and service (ses)` };
		const amzDate = String(headers['x-amz-date'] ?? '');
		if (!amzDate.startsWith(day) || Math.abs(Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')) - Date.now()) > 5 * 60_000) {
			return { type: 'SignatureDoesNotMatch', message: 'Signature expired or X-Amz-Date missing' };
		}
		const names = signedHeaders.split(';');
		if (!names.includes('host') || !names.includes('x-amz-date')) return { type: 'SignatureDoesNotMatch', message: 'host and x-amz-date must be signed' };
		const [path, query = ''] = url.split('?');
		const canonical = [
			method,
			path.split('/').map((s) => encodeURIComponent(s)).join('/'),
			query.split('&').filter(Boolean).sort().join('&'),
			...names.map((n) => `${n}:${String(headers[n] ?? '').trim()}`),
			'',
			signedHeaders,
			createHash('sha256').update(raw).digest('hex'),
		].join('\n');
		const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${day}/${region}/ses/aws4_request\n${createHash('sha256').update(canonical).digest('hex')}`;
		let key: Buffer = createHmac('sha256', `AWS4${this.secretAccessKey}`).update(day).digest();
		for (const part of [region, 'ses', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
		const expected = createHmac('sha256', key).update(toSign).digest('hex');
		return expected === signature ? undefined : { type: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided.' };
	}
}
