/**
 * What each ad partner's audience API takes: how many people one call may carry, how a person's
 * identifiers are normalised and hashed for it, and the call that adds or removes a batch.
 * Shapes as the partners document them (REFERENCE.md, "Ad partners").
 */
import { type HttpAnswer, type HttpRequest, retryAfterMs } from '../http';
import { type EmailRules, normalizeCountry, normalizeEmail, normalizeName, normalizePhone, normalizeZip, sha256Hex } from './identifiers';

export type AudienceOperation = 'add' | 'remove';

/** What is known of a person, raw, from the store. */
export interface AudiencePerson {
	email?: unknown;
	phone?: unknown;
	firstName?: unknown;
	lastName?: unknown;
	city?: unknown;
	zip?: unknown;
	country?: unknown;
	/** The advertiser's own ID for the person (sent as is, where the partner takes one). */
	externalId?: string;
	/** A mobile advertising ID (IDFA/AAID), sent as is where the partner takes one. */
	madid?: string;
}

export interface AudienceTarget {
	/** The partner's audience (segment, user list) ID. */
	audienceId: string;
	/** The account that owns it, where the partner asks for one (Google, TikTok). */
	accountId?: string;
	/** Whether every person of the call gave explicit ad consent (Google is told so only then). */
	consentGranted?: boolean;
}


export interface AudiencePartner {
	readonly name: string;
	/** People one call may carry. */
	readonly maxBatch: number;
	/** The person's hashed identifiers as this partner matches them; undefined when none is usable. */
	identifiersOf(person: AudiencePerson, defaultCountryCode?: string): unknown | undefined;
	/** The call that adds or removes these people (their identifiers, in order). */
	call(operation: AudienceOperation, target: AudienceTarget, identifiers: readonly unknown[]): HttpRequest;
	/** What the partner's answer says of each person of the call, in order. */
	results(answer: HttpAnswer, count: number): CallResult[];
}

/** As for emails: `retryable` may pass later (429, 5xx); `fatal` means no call can succeed (a refused token). */
export type CallResult = { ok: true } | { ok: false; retryable: boolean; fatal?: boolean; reason: string; retryAfterMs?: number };

/** The result of a whole call from its HTTP status, with the partner's own words for the reason. */
function byStatus(name: string, answer: HttpAnswer, count: number, message: string | undefined): CallResult[] {
	const { status } = answer;
	const reason = `${name} ${status}${message ? `: ${message}` : ''}`;
	let result: CallResult;
	if (status >= 200 && status < 300) result = { ok: true };
	else if (status === 429 || status >= 500) result = { ok: false, retryable: true, reason, retryAfterMs: retryAfterMs(answer.headers) };
	else if (status === 401 || status === 403) result = { ok: false, retryable: false, fatal: true, reason: `${reason}. Check the credential and its access to the audience.` };
	else result = { ok: false, retryable: false, reason };
	return new Array<CallResult>(count).fill(result);
}

const messageOf = (body: unknown, ...paths: string[][]): string | undefined => {
	for (const path of paths) {
		let value: unknown = body;
		for (const key of path) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
		if (typeof value === 'string' && value) return value;
	}
	return undefined;
};

const hashed = (value: string | undefined) => (value === undefined ? undefined : sha256Hex(value));

/** Meta Custom Audiences: multi-key rows, SHA-256 of each normalised field except EXTERN_ID and MADID. */
const META_SCHEMA = ['EMAIL', 'PHONE', 'FN', 'LN', 'CT', 'ZIP', 'COUNTRY', 'EXTERN_ID', 'MADID'] as const;

export const meta: AudiencePartner = {
	name: 'Meta',
	maxBatch: 10_000,
	identifiersOf(p, defaultCountryCode) {
		const country = normalizeCountry(p.country);
		const row = [
			hashed(normalizeEmail(p.email)),
			hashed(normalizePhone(p.phone as string, defaultCountryCode)),
			hashed(normalizeName(p.firstName)),
			hashed(normalizeName(p.lastName)),
			hashed(normalizeName(p.city)),
			hashed(normalizeZip(p.zip, country)),
			hashed(country),
			p.externalId || undefined,
			p.madid?.toLowerCase() || undefined,
		];
		// Location and names alone match nobody: an email, a phone or an ID is needed.
		if (!row[0] && !row[1] && !row[7] && !row[8]) return undefined;
		return row.map((v) => v ?? '');
	},
	call: (operation, target, identifiers) => ({
		method: operation === 'add' ? 'POST' : 'DELETE',
		path: `/${encodeURIComponent(target.audienceId)}/users`,
		body: { payload: { schema: [...META_SCHEMA], data: identifiers } },
	}),
	results(answer, count) {
		const error = (answer.body as { error?: { code?: number; message?: string } } | undefined)?.error;
		// Graph API throttling comes as 400 with codes 4, 17, 32, 613 or 80003.
		if (error && [4, 17, 32, 613, 80003].includes(Number(error.code))) return byStatus('Meta', { ...answer, status: 429 }, count, error.message);
		if (error && Number(error.code) === 190) return byStatus('Meta', { ...answer, status: 401 }, count, error.message);
		return byStatus('Meta', answer, count, error?.message);
	},
};

/** Google through the Data Manager API: email (every Gmail dot removed) and E.164 phone, hex SHA-256. */
export const google: AudiencePartner = {
	name: 'Google',
	maxBatch: 10_000,
	identifiersOf(p, defaultCountryCode) {
		const ids: Array<Record<string, unknown>> = [];
		const email = hashed(normalizeEmail(p.email, { gmailDots: true } satisfies EmailRules));
		if (email) ids.push({ emailAddress: email });
		const phone = normalizePhone(p.phone as string, defaultCountryCode);
		if (phone) ids.push({ phoneNumber: sha256Hex(`+${phone}`) });
		return ids.length ? { userData: { userIdentifiers: ids } } : undefined;
	},
	call: (operation, target, identifiers) => ({
		method: 'POST',
		path: operation === 'add' ? '/v1/audienceMembers:ingest' : '/v1/audienceMembers:remove',
		body: {
			destinations: [{ operatingAccount: { accountType: 'GOOGLE_ADS', accountId: target.accountId ?? '' }, productDestinationId: target.audienceId }],
			audienceMembers: identifiers,
			...(operation === 'add' && target.consentGranted ? { consent: { adUserData: 'CONSENT_GRANTED', adPersonalization: 'CONSENT_GRANTED' } } : {}),
			encoding: 'HEX',
		},
	}),
	results: (answer, count) => byStatus('Google', answer, count, messageOf(answer.body, ['error', 'message'])),
};

/** Criteo contact lists: SHA-256 emails, amended with add or remove. */
export const criteo: AudiencePartner = {
	name: 'Criteo',
	maxBatch: 50_000,
	identifiersOf: (p) => hashed(normalizeEmail(p.email)),
	call: (operation, target, identifiers) => ({
		method: 'PATCH',
		// The API version is part of the credential's API URL (https://api.criteo.com/<version>).
		path: `/audiences/${encodeURIComponent(target.audienceId)}/contactlist`,
		body: { data: { type: 'ContactlistAmendment', attributes: { operation, identifierType: 'email', identifiers } } },
	}),
	results: (answer, count) => byStatus('Criteo', answer, count, messageOf(answer.body, ['errors', '0', 'detail'], ['errors', '0', 'title'])),
};

/** LinkedIn Matched Audiences: SHA-256 emails, BATCH_CREATE of ADD or REMOVE actions. */
export const linkedin: AudiencePartner = {
	name: 'LinkedIn',
	maxBatch: 5_000,
	identifiersOf: (p) => hashed(normalizeEmail(p.email)),
	call: (operation, target, identifiers) => ({
		method: 'POST',
		path: `/rest/dmpSegments/${encodeURIComponent(target.audienceId)}/users`,
		// The node sends the credential's LinkedIn-Version instead when it has one.
		headers: { 'X-RestLi-Method': 'BATCH_CREATE', 'X-Restli-Protocol-Version': '2.0.0', 'LinkedIn-Version': '202510' },
		body: { elements: identifiers.map((idValue) => ({ action: operation === 'add' ? 'ADD' : 'REMOVE', userIds: [{ idType: 'SHA256_EMAIL', idValue }] })) },
	}),
	results(answer, count) {
		const elements = (answer.body as { elements?: Array<{ status?: number; message?: string }> } | undefined)?.elements;
		// BATCH_CREATE answers one status an element: some may fail while the others pass.
		if (answer.status >= 200 && answer.status < 300 && Array.isArray(elements) && elements.length === count) {
			return elements.map((e): CallResult => (Number(e.status) >= 200 && Number(e.status) < 300 ? { ok: true } : { ok: false, retryable: false, reason: `LinkedIn ${e.status}${e.message ? `: ${e.message}` : ''}` }));
		}
		return byStatus('LinkedIn', answer, count, messageOf(answer.body, ['message']));
	},
};

/** TikTok custom audiences: SHA-256 emails mapped into (add) or out of (delete) the audience. */
export const tiktok: AudiencePartner = {
	name: 'TikTok',
	maxBatch: 10_000,
	identifiersOf: (p) => hashed(normalizeEmail(p.email)),
	call: (operation, target, identifiers) => ({
		method: 'POST',
		path: '/open_api/v1.3/segment/mapping/',
		body: {
			advertiser_ids: [target.accountId ?? ''],
			action: operation === 'add' ? 'add' : 'delete',
			id_schema: ['EMAIL_SHA256'],
			batch_data: identifiers.map((id) => [{ id, audience_ids: [target.audienceId] }]),
		},
	}),
	results(answer, count) {
		// TikTok answers 200 with its own code: 0 is done, 40100 is its rate limit, 40001/40105 a
		// refused token, 5xxxx its own server errors.
		const { code, message } = (answer.body ?? {}) as { code?: number; message?: string };
		if (answer.status === 200 && code !== undefined && code !== 0) {
			const status = code === 40100 ? 429 : code === 40001 || code === 40105 ? 401 : code >= 50000 ? 500 : 400;
			return byStatus('TikTok', { ...answer, status }, count, `${message ?? ''} (code ${code})`.trim());
		}
		return byStatus('TikTok', answer, count, message);
	},
};

export interface GenericPartnerOptions {
	/** Paths under the credential's base URL. */
	addPath: string;
	removePath: string;
	method: 'POST' | 'PATCH' | 'PUT' | 'DELETE';
	/** JSON with {identifiers}, {audience_id} and {operation} in it. */
	bodyTemplate: string;
	maxBatch: number;
	identifier: 'email' | 'phone' | 'emailAndPhone';
	hash: boolean;
	email: EmailRules;
}

/** The body of the HTTP partner's call: the template with {identifiers}, {audience_id} and {operation} filled in. */
function renderBody(template: string, operation: AudienceOperation, audienceId: string, identifiers: readonly unknown[]): unknown {
	// One pass with a function: values are never read as replacement patterns ($&) or filled in twice.
	const values: Record<string, string> = { identifiers: JSON.stringify(identifiers), audience_id: JSON.stringify(audienceId).slice(1, -1), operation };
	return JSON.parse(template.replace(/\{(identifiers|audience_id|operation)\}/g, (_, name: string) => values[name])) as unknown;
}

/** Why a body template cannot be used (it does not give JSON once filled in), or undefined. */
export function bodyTemplateProblem(template: string): string | undefined {
	if (!template.includes('{identifiers}')) return 'Body Template: put {identifiers} where the list of people goes';
	try {
		// With identifiers of both shapes, as real calls carry them.
		renderBody(template, 'add', 'check', ['0f', { email: '0f', phone: '0f' }]);
		return undefined;
	} catch (error) {
		return `Body Template does not give JSON once filled in: ${(error as Error).message}`;
	}
}

/**
 * Any partner with an HTTP API: the body is the template with {identifiers} (a JSON list: one
 * hashed value a person, or {email, phone} objects), {audience_id} and {operation} (add or remove)
 * filled in. Check the template with `bodyTemplateProblem` first.
 */
export function genericPartner(options: GenericPartnerOptions): AudiencePartner {
	const value = (v: string | undefined) => (v === undefined ? undefined : options.hash ? sha256Hex(v) : v);
	return {
		name: 'HTTP partner',
		maxBatch: options.maxBatch,
		identifiersOf(p, defaultCountryCode) {
			const email = value(normalizeEmail(p.email, options.email));
			const phone = value(normalizePhone(p.phone as string, defaultCountryCode));
			if (options.identifier === 'email') return email;
			if (options.identifier === 'phone') return phone;
			return email || phone ? { ...(email ? { email } : {}), ...(phone ? { phone } : {}) } : undefined;
		},
		call: (operation, target, identifiers) => ({
			method: options.method,
			path: operation === 'add' ? options.addPath : options.removePath,
			body: renderBody(options.bodyTemplate, operation, target.audienceId, identifiers),
		}),
		results: (answer, count) => byStatus('HTTP partner', answer, count, messageOf(answer.body, ['message'], ['error', 'message'], ['error'])),
	};
}

export const PARTNERS = { criteo, google, linkedin, meta, tiktok } as const;
export type PartnerName = keyof typeof PARTNERS;

/** The calls for these people: batches of the partner's limit, people without a usable identifier left out. */
export function partnerCalls(
	partner: AudiencePartner,
	operation: AudienceOperation,
	target: AudienceTarget,
	people: ReadonlyArray<{ key: string; person: AudiencePerson }>,
	defaultCountryCode?: string,
): { calls: Array<{ call: HttpRequest; keys: string[] }>; unmatchable: string[] } {
	const usable: Array<{ key: string; id: unknown }> = [];
	const unmatchable: string[] = [];
	for (const { key, person } of people) {
		const id = partner.identifiersOf(person, defaultCountryCode);
		if (id === undefined) unmatchable.push(key);
		else usable.push({ key, id });
	}
	const calls: Array<{ call: HttpRequest; keys: string[] }> = [];
	for (let i = 0; i < usable.length; i += partner.maxBatch) {
		const batch = usable.slice(i, i + partner.maxBatch);
		calls.push({ call: partner.call(operation, target, batch.map((b) => b.id)), keys: batch.map((b) => b.key) });
	}
	return { calls, unmatchable };
}
