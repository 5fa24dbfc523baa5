/**
 * The identifiers ad partners match people on, normalised as each partner asks, then hashed
 * (SHA-256, lower-case hex). The traps: emails are trimmed and lower-cased; Google also wants every
 * dot removed before @gmail.com / @googlemail.com; a plus-tag is removed only for a partner that
 * asks (none of the built-in ones does); phones are digits with the country code (E.164, with
 * the + for Google); names are lower-case letters without punctuation or spaces.
 */
import { createHash } from 'node:crypto';

export function sha256Hex(value: string): string {
	return createHash('sha256').update(value, 'utf8').digest('hex');
}

export interface EmailRules {
	/** Remove every dot of the local part for gmail.com and googlemail.com (Google). */
	gmailDots?: boolean;
	/** Remove a +tag from the local part. */
	plusTags?: boolean;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The email as the partner matches it, or undefined when it is not one address. */
export function normalizeEmail(raw: unknown, rules: EmailRules = {}): string | undefined {
	if (typeof raw !== 'string') return undefined;
	const email = raw.trim().toLowerCase();
	if (!EMAIL.test(email)) return undefined;
	const at = email.lastIndexOf('@');
	const domain = email.slice(at + 1);
	let local = email.slice(0, at);
	if (rules.plusTags) local = local.replace(/\+.*$/, '');
	if (rules.gmailDots && (domain === 'gmail.com' || domain === 'googlemail.com')) local = local.replace(/\./g, '');
	return local ? `${local}@${domain}` : undefined;
}

/**
 * A phone number as E.164 digits (country code first, no +), or undefined. A number written
 * without its country code (a leading 0 or none) takes `defaultCountryCode` (such as "33");
 * without one, it cannot be matched and is dropped.
 */
export function normalizePhone(raw: unknown, defaultCountryCode?: string): string | undefined {
	if (typeof raw !== 'string' && typeof raw !== 'number') return undefined;
	const text = String(raw).trim();
	let digits = text.replace(/\D/g, '');
	if (text.startsWith('+')) return digits.length >= 8 && digits.length <= 15 ? digits : undefined;
	if (digits.startsWith('00')) digits = digits.slice(2);
	else {
		const country = defaultCountryCode?.replace(/\D/g, '');
		if (!country) return undefined;
		digits = `${country}${digits.replace(/^0+/, '')}`;
	}
	return digits.length >= 8 && digits.length <= 15 ? digits : undefined;
}

/** A first or last name, or a city: lower-case letters (accents kept, as UTF-8), no punctuation or spaces. */
export function normalizeName(raw: unknown): string | undefined {
	if (typeof raw !== 'string') return undefined;
	const name = raw.normalize('NFC').toLowerCase().replace(/[^\p{L}]/gu, '');
	return name || undefined;
}

/** A postal code: lower case without spaces or dashes; a US code keeps its first five digits. */
export function normalizeZip(raw: unknown, country?: string): string | undefined {
	if (typeof raw !== 'string' && typeof raw !== 'number') return undefined;
	const zip = String(raw).toLowerCase().replace(/[\s-]/g, '');
	if (!zip) return undefined;
	return country === 'us' && /^\d{5}/.test(zip) ? zip.slice(0, 5) : zip;
}

/** A country as its ISO 3166-1 alpha-2 code, lower case. */
export function normalizeCountry(raw: unknown): string | undefined {
	if (typeof raw !== 'string') return undefined;
	const code = raw.trim().toLowerCase();
	return /^[a-z]{2}$/.test(code) ? code : undefined;
}
