import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Compares a presented secret with the expected one in constant time. Both sides are hashed first
 * so that neither the content nor the length of the expected secret leaks through timing.
 */
export function secretsMatch(presented: string, expected: string): boolean {
	if (expected.length === 0) return false;
	const a = createHash('sha256').update(presented, 'utf8').digest();
	const b = createHash('sha256').update(expected, 'utf8').digest();
	return timingSafeEqual(a, b);
}

/** The user part of an HTTP Basic `Authorization` header, as Segment's libraries send the write key. */
export function basicAuthUser(header: string | undefined): string | undefined {
	if (!header) return undefined;
	const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
	if (!match) return undefined;
	const decoded = Buffer.from(match[1], 'base64').toString('utf8');
	const colon = decoded.indexOf(':');
	return colon === -1 ? decoded : decoded.slice(0, colon);
}

/** Why a write key is too weak to identify a tracking source, or undefined when it is fine. */
export function writeKeyProblem(writeKey: string): string | undefined {
	if (writeKey.length < 16) return 'The write key must be at least 16 characters long';
	if (/\s/.test(writeKey)) return 'The write key must not contain spaces';
	return undefined;
}

/** The header a signed request carries: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. */
export const SIGNATURE_HEADER = 'x-retargeting-signature';

/** Seconds a signature stays valid: older (replayed) or far-future requests are refused. */
export const SIGNATURE_WINDOW_SECONDS = 300;

/** The signature header value for a body, as a sender computes it. */
export function signBody(body: Buffer | string, secret: string, unixSeconds = Math.floor(Date.now() / 1000)): string {
	const mac = createHmac('sha256', secret).update(`${unixSeconds}.`).update(body).digest('hex');
	return `t=${unixSeconds},v1=${mac}`;
}

/**
 * Why a request's signature does not prove it came from the holder of `secret`, or undefined when
 * it does. The MAC covers the timestamp and the raw body; the timestamp must be within the window.
 */
export function signatureProblem(
	header: string | undefined,
	body: Buffer | string,
	secret: string,
	nowSeconds = Math.floor(Date.now() / 1000),
): string | undefined {
	if (!header) return `The ${SIGNATURE_HEADER} header is missing: this source accepts signed requests only`;
	const parts = new Map<string, string[]>();
	for (const part of header.split(',')) {
		const [key, value] = part.trim().split('=', 2);
		if (key && value) parts.set(key, [...(parts.get(key) ?? []), value]);
	}
	const t = Number(parts.get('t')?.[0]);
	if (!Number.isInteger(t)) return `The ${SIGNATURE_HEADER} header has no timestamp (t=<unix seconds>)`;
	if (Math.abs(nowSeconds - t) > SIGNATURE_WINDOW_SECONDS) {
		return `The signature timestamp is more than ${SIGNATURE_WINDOW_SECONDS} seconds away from the server's clock (a replayed request, or a sender clock that is off)`;
	}
	const expected = createHmac('sha256', secret).update(`${t}.`).update(body).digest();
	const matches = (parts.get('v1') ?? []).some((hex) => {
		const given = Buffer.from(hex, 'hex');
		return given.length === expected.length && timingSafeEqual(given, expected);
	});
	return matches ? undefined : 'The signature does not match the body: check the HMAC secret and sign the raw body exactly as sent';
}
