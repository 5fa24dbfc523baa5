import { createHash, createHmac } from 'node:crypto';

export interface AwsKeys {
	accessKeyId: string;
	secretAccessKey: string;
	/** For temporary credentials (STS). */
	sessionToken?: string;
}

export interface AwsRequest {
	method: string;
	url: string;
	/** Headers to sign besides host and x-amz-date, such as content-type. */
	headers?: Record<string, string>;
	body?: string;
}

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding, as Signature Version 4 asks: everything but A-Z a-z 0-9 - _ . ~ */
function encode(value: string): string {
	return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The headers that sign a request with AWS Signature Version 4 (x-amz-date, authorization and,
 * for temporary credentials, x-amz-security-token), for the given region and service. The body
 * must be sent exactly as given here: its hash is part of the signature.
 */
export function signAwsRequest(request: AwsRequest, keys: AwsKeys, scope: { region: string; service: string }, now = new Date()): Record<string, string> {
	const url = new URL(request.url);
	const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
	const day = amzDate.slice(0, 8);
	const added: Record<string, string> = { 'x-amz-date': amzDate, ...(keys.sessionToken ? { 'x-amz-security-token': keys.sessionToken } : {}) };
	const signed = new Map<string, string>([['host', url.host]]);
	for (const [name, value] of Object.entries({ ...request.headers, ...added })) signed.set(name.toLowerCase(), value.trim().replace(/\s+/g, ' '));
	const names = [...signed.keys()].sort();
	// Outside S3, each path segment is encoded once more over its URL form.
	const path = url.pathname.split('/').map(encode).join('/') || '/';
	const query = [...url.searchParams]
		.map(([k, v]) => [encode(k), encode(v)])
		.sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
		.map(([k, v]) => `${k}=${v}`)
		.join('&');
	const canonical = [request.method.toUpperCase(), path, query, ...names.map((n) => `${n}:${signed.get(n)}`), '', names.join(';'), sha256(request.body ?? '')].join('\n');
	const credentialScope = `${day}/${scope.region}/${scope.service}/aws4_request`;
	const toSign = ['AWS4-HMAC-SHA256', amzDate, credentialScope, sha256(canonical)].join('\n');
	const key = hmac(hmac(hmac(hmac(`AWS4${keys.secretAccessKey}`, day), scope.region), scope.service), 'aws4_request');
	const signature = hmac(key, toSign).toString('hex');
	return {
		...added,
		authorization: `AWS4-HMAC-SHA256 Credential=${keys.accessKeyId}/${credentialScope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
	};
}
