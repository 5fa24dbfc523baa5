/**
 * The token of the package's unsubscribe link: it names the person (by the store's profile id, never
 * the email address) and the campaign, and carries an HMAC-SHA256 over both, so that it cannot be
 * forged, edited or guessed from an address. Tokens do not expire: mailbox providers expect an
 * unsubscribe link to keep working long after the email was sent.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface UnsubscribeClaim {
	profileId: string;
	campaign: string;
}

/** The shortest signing secret accepted: 32 characters, as the credential asks. */
export const MIN_SECRET_LENGTH = 32;

const VERSION = 'u1';

function mac(secret: string, payload: string): Buffer {
	return createHmac('sha256', secret).update(`${VERSION}.${payload}`).digest();
}

export function signUnsubscribeToken(secret: string, claim: UnsubscribeClaim): string {
	const payload = Buffer.from(JSON.stringify({ p: claim.profileId, c: claim.campaign })).toString('base64url');
	return `${VERSION}.${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** The claim of a token signed with `secret`, or why it is refused (never which part was wrong). */
export function readUnsubscribeToken(secret: string, token: string): { ok: true; claim: UnsubscribeClaim } | { ok: false; problem: string } {
	const refused = { ok: false as const, problem: 'This unsubscribe link is not valid: it may have been cut or changed. Use the link from the email as it came.' };
	const [version, payload, signature, ...rest] = token.split('.');
	if (version !== VERSION || !payload || !signature || rest.length) return refused;
	const given = Buffer.from(signature, 'base64url');
	const expected = mac(secret, payload);
	if (given.length !== expected.length || !timingSafeEqual(given, expected)) return refused;
	let claim: { p?: unknown; c?: unknown };
	try {
		claim = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { p?: unknown; c?: unknown };
	} catch {
		return refused;
	}
	if (typeof claim.p !== 'string' || typeof claim.c !== 'string') return refused;
	return { ok: true, claim: { profileId: claim.p, campaign: claim.c } };
}

/** The link of the package's unsubscribe endpoint for one person and campaign. */
export function unsubscribeLink(publicUrl: string, secret: string, claim: UnsubscribeClaim): string {
	const url = new URL(publicUrl);
	url.searchParams.set('t', signUnsubscribeToken(secret, claim));
	return url.toString();
}
