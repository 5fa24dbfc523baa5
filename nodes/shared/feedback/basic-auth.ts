import { secretsMatch } from '../secrets';
import type { FeedbackRequest } from './model';
import { headerValues } from './payload';

/**
 * Postmark, Mailjet and Brevo do not sign their event webhooks: the only proof that a request
 * comes from them is a secret given to them with the webhook's settings. Each of them can send one
 * of these, so any of them is accepted:
 * - HTTP Basic auth: Postmark's HttpAuth or a `https://user:password@host/...` URL (Postmark,
 *   Mailjet), Brevo's `auth: {type: "basic"}`;
 * - a token: in the `x-webhook-token` header (Postmark's custom HttpHeaders), as
 *   `Authorization: Bearer <token>` (Brevo's `auth: {type: "bearer"}`), or as the `token` query
 *   parameter of the URL (any provider; it ends up in access logs, so prefer the others).
 */

export const TOKEN_HEADER = 'x-webhook-token';
export const TOKEN_QUERY_PARAMETER = 'token';

export interface WebhookCredential {
	user?: string;
	password?: string;
	token?: string;
}

/**
 * Why the request is not authenticated by the expected credential, or undefined when it is. The
 * reason never holds a secret. With nothing configured every request is refused: an endpoint
 * that anyone can post suppressions and unsubscribes to is never the default.
 */
export function credentialProblem(request: FeedbackRequest, expected: WebhookCredential): string | undefined {
	const user = expected.user ?? '';
	const password = expected.password ?? '';
	const token = expected.token ?? '';
	if (!token && !user && !password) {
		return 'This provider does not sign its webhooks: set a user and password or a token in the credential';
	}
	if (!token && (!user || !password)) return 'The credential has a user without a password, or a password without a user: set both, or a token';
	const basic = presentedBasic(request);
	const tokens = presentedTokens(request);
	if (user && password && basic.some((pair) => pairMatches(pair, user, password))) return undefined;
	if (token && tokens.some((presented) => secretsMatch(presented, token))) return undefined;
	if (basic.length === 0 && tokens.length === 0) {
		return `The request carries no credentials: give the provider the user and password (Basic auth, or https://user:password@host/... in the URL), or the token (${TOKEN_HEADER} header, Bearer token or ?${TOKEN_QUERY_PARAMETER}=)`;
	}
	return 'The credentials the request carries do not match the ones in the credential';
}

/** Both parts are compared, whatever the first gives, so the time taken says nothing about either. */
function pairMatches(pair: { user: string; password: string }, user: string, password: string): boolean {
	const userMatches = secretsMatch(pair.user, user);
	const passwordMatches = secretsMatch(pair.password, password);
	return userMatches && passwordMatches;
}

function presentedBasic(request: FeedbackRequest): Array<{ user: string; password: string }> {
	return headerValues(request, 'authorization').flatMap((value) => {
		const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(value);
		if (!match) return [];
		const decoded = Buffer.from(match[1], 'base64').toString('utf8');
		const colon = decoded.indexOf(':');
		return [colon === -1 ? { user: decoded, password: '' } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }];
	});
}

function presentedTokens(request: FeedbackRequest): string[] {
	const bearer = headerValues(request, 'authorization').flatMap((value) => /^Bearer\s+(\S+)\s*$/i.exec(value)?.[1] ?? []);
	return [...headerValues(request, TOKEN_HEADER), ...bearer, ...queryTokens(request.url)].filter((value) => value !== '');
}

function queryTokens(url: string): string[] {
	try {
		return new URL(url, 'http://localhost').searchParams.getAll(TOKEN_QUERY_PARAMETER);
	} catch {
		return [];
	}
}
