import { createHash, timingSafeEqual } from 'node:crypto';

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
