import type { IncomingHttpHeaders } from 'node:http';

import { StandIn, type StandInAnswer } from './stand-in.ts';

export type StandInPartner = 'meta' | 'google' | 'criteo' | 'linkedin' | 'tiktok';

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * One ad partner's audience API, checked against its documented shape (REFERENCE.md, "Ad
 * partners"): auth, method and path, body, batch limit, identifiers hashed as SHA-256 hex. It keeps
 * each audience's members, so tests see what a partner would hold. Identifiers listed in `refuse`
 * are refused: one by one where the partner answers per element (LinkedIn), else the whole call.
 */
export class AudienceStandIn extends StandIn {
	readonly requests: Array<{ method: string; url: string; count: number; body: unknown }> = [];
	/** Members by audience ID: the hashed email (Meta: the whole row's first column). */
	readonly audiences = new Map<string, Set<string>>();
	readonly refuse = new Set<string>();
	/** The access token the partner takes now; `expireToken()` replaces it, as when a token expires. */
	token = 'partner-token';
	readonly partner: StandInPartner;

	constructor(partner: StandInPartner) {
		super();
		this.partner = partner;
	}

	members(audienceId: string): Set<string> {
		let set = this.audiences.get(audienceId);
		if (!set) this.audiences.set(audienceId, (set = new Set()));
		return set;
	}

	/** The header the partner's credential adds: Access-Token for TikTok, a Bearer token for the others. */
	authHeaders(token = this.token): Record<string, string> {
		return this.partner === 'tiktok' ? { 'access-token': token } : { authorization: `Bearer ${token}` };
	}

	private authorised(headers: IncomingHttpHeaders): boolean {
		return this.partner === 'tiktok' ? headers['access-token'] === this.token : headers.authorization === `Bearer ${this.token}`;
	}

	readonly clientId = 'criteo-client';
	readonly clientSecret = 'criteo-secret';
	/** OAuth2 client-credentials grants handed out (Criteo). */
	tokensIssued = 0;

	protected answer(method: string, url: string, headers: IncomingHttpHeaders, body: unknown, raw: string): StandInAnswer {
		const path = url.split('?')[0];
		if (method === 'POST' && path === '/oauth2/token') return this.tokenGrant(headers, raw);
		const b = (body ?? {}) as Record<string, unknown>;
		let change: { audienceId: string; add: boolean; ids: string[] } | undefined;
		let limit = 0;
		switch (this.partner) {
			case 'meta': {
				const m = /^\/([^/]+)\/users$/.exec(path);
				const payload = b.payload as { schema?: unknown; data?: unknown } | undefined;
				if (!m || (method !== 'POST' && method !== 'DELETE')) return { status: 404, body: { error: { message: 'Unknown path', code: 100 } } };
				if (!Array.isArray(payload?.schema) || !Array.isArray(payload?.data)) this.shapeErrors.push('payload.schema and payload.data required');
				const rows = (payload?.data ?? []) as string[][];
				const schema = (payload?.schema ?? []) as string[];
				rows.forEach((row, i) => {
					if (!Array.isArray(row) || row.length !== schema.length) this.shapeErrors.push(`payload.data[${i}]: one value a schema key`);
					row.forEach((v, k) => {
						if (v !== '' && !['EXTERN_ID', 'MADID'].includes(schema[k]) && !HEX64.test(v)) this.shapeErrors.push(`payload.data[${i}][${k}] (${schema[k]}): SHA-256 hex required`);
					});
				});
				change = { audienceId: decodeURIComponent(m[1]), add: method === 'POST', ids: rows.map((r) => r[0] || r[1]) };
				limit = 10_000;
				break;
			}
			case 'google': {
				const add = path === '/v1/audienceMembers:ingest';
				if (method !== 'POST' || (!add && path !== '/v1/audienceMembers:remove')) return { status: 404, body: { error: { message: 'Not found' } } };
				const destination = (b.destinations as Array<{ productDestinationId?: string; operatingAccount?: { accountId?: string; accountType?: string } }> | undefined)?.[0];
				if (!destination?.productDestinationId || !destination.operatingAccount?.accountId || !destination.operatingAccount.accountType) this.shapeErrors.push('destinations[0]: operatingAccount and productDestinationId required');
				if (b.encoding !== 'HEX') this.shapeErrors.push('encoding: HEX expected');
				const members = (b.audienceMembers ?? []) as Array<{ userData?: { userIdentifiers?: Array<Record<string, string>> } }>;
				const ids = members.map((m, i) => {
					const first = m.userData?.userIdentifiers?.[0];
					const value = first?.emailAddress ?? first?.phoneNumber;
					if (!value || !HEX64.test(value)) this.shapeErrors.push(`audienceMembers[${i}]: a hashed emailAddress or phoneNumber required`);
					return String(value);
				});
				change = { audienceId: String(destination?.productDestinationId), add, ids };
				limit = 10_000;
				break;
			}
			case 'criteo': {
				const m = /^\/audiences\/([^/]+)\/contactlist$/.exec(path);
				const data = b.data as { type?: string; attributes?: { operation?: string; identifierType?: string; identifiers?: string[] } } | undefined;
				if (!m || method !== 'PATCH') return { status: 404, body: { errors: [{ title: 'Not found' }] } };
				if (data?.type !== 'ContactlistAmendment' || !['add', 'remove'].includes(String(data.attributes?.operation)) || data.attributes?.identifierType !== 'email') {
					this.shapeErrors.push('data: a ContactlistAmendment of add or remove, identifierType email');
				}
				const ids = data?.attributes?.identifiers ?? [];
				if (ids.some((v) => !HEX64.test(v))) this.shapeErrors.push('identifiers: SHA-256 hex emails required');
				change = { audienceId: decodeURIComponent(m[1]), add: data?.attributes?.operation === 'add', ids };
				limit = 50_000;
				break;
			}
			case 'linkedin': {
				const m = /^\/rest\/dmpSegments\/([^/]+)\/users$/.exec(path);
				if (!m || method !== 'POST') return { status: 404, body: { message: 'Not found' } };
				if (headers['x-restli-method'] !== 'BATCH_CREATE') this.shapeErrors.push('X-RestLi-Method: BATCH_CREATE required');
				if (!headers['linkedin-version']) this.shapeErrors.push('LinkedIn-Version required');
				const elements = (b.elements ?? []) as Array<{ action?: string; userIds?: Array<{ idType?: string; idValue?: string }> }>;
				const ids = elements.map((e, i) => {
					const id = e.userIds?.[0];
					if (!['ADD', 'REMOVE'].includes(String(e.action)) || id?.idType !== 'SHA256_EMAIL' || !HEX64.test(String(id.idValue))) this.shapeErrors.push(`elements[${i}]: ADD or REMOVE of a SHA256_EMAIL`);
					return String(id?.idValue);
				});
				change = { audienceId: decodeURIComponent(m[1]), add: elements[0]?.action === 'ADD', ids };
				limit = 5_000;
				break;
			}
			case 'tiktok': {
				if (method !== 'POST' || path !== '/open_api/v1.3/segment/mapping/') return { status: 404, body: { code: 40400, message: 'Not found' } };
				if (!Array.isArray(b.advertiser_ids) || !b.advertiser_ids[0]) this.shapeErrors.push('advertiser_ids required');
				if (JSON.stringify(b.id_schema) !== '["EMAIL_SHA256"]') this.shapeErrors.push('id_schema: ["EMAIL_SHA256"] expected');
				const batch = (b.batch_data ?? []) as Array<Array<{ id?: string; audience_ids?: string[] }>>;
				const ids = batch.map((row) => String(row[0]?.id));
				if (ids.some((v) => !HEX64.test(v))) this.shapeErrors.push('batch_data: SHA-256 hex ids required');
				change = { audienceId: String(batch[0]?.[0]?.audience_ids?.[0]), add: b.action === 'add', ids };
				limit = 10_000;
				break;
			}
		}
		const count = change?.ids.length ?? 0;
		this.requests.push({ method, url, count, body });
		if (count > limit) this.shapeErrors.push(`${count} people in one call (at most ${limit})`);
		if (!this.authorised(headers)) return this.refusal(401, 'Invalid access token');
		const fail = this.forcedFailure();
		if (fail) return { ...this.refusal(fail.status, fail.status === 429 ? 'Too many calls' : 'Internal error'), ...(fail.headers ? { headers: fail.headers } : {}) };
		const refused = change!.ids.filter((id) => this.refuse.has(id));
		if (refused.length && this.partner !== 'linkedin') return this.refusal(400, `${refused.length} identifier(s) refused`);
		const members = this.members(change!.audienceId);
		for (const id of change!.ids) {
			if (this.refuse.has(id)) continue;
			if (change!.add) members.add(id);
			else members.delete(id);
		}
		switch (this.partner) {
			case 'meta':
				return { status: 200, body: { audience_id: change!.audienceId, session_id: '1', num_received: count, num_invalid_entries: 0 } };
			case 'linkedin':
				return { status: 200, body: { elements: change!.ids.map((id) => (this.refuse.has(id) ? { status: 400, message: 'Invalid idValue' } : { status: 201 })) } };
			case 'tiktok':
				return { status: 200, body: { code: 0, message: 'OK', data: {} } };
			case 'google':
				return { status: 200, body: { requestId: `req-${this.requests.length}` } };
			default:
				return { status: 200, body: { data: { type: 'ContactlistAmendment', attributes: { nbValidIdentifiers: count, nbInvalidIdentifiers: 0 } } } };
		}
	}

	/** The current token stops working; the token endpoint hands out the new one. */
	expireToken(): void {
		this.token = `partner-token-${this.tokensIssued + 1}-${Date.now()}`;
	}

	/** Criteo's client-credentials grant: the client ID and secret in the form (or as Basic auth). */
	private tokenGrant(headers: IncomingHttpHeaders, raw: string): StandInAnswer {
		const form = new URLSearchParams(raw);
		const basic = String(headers.authorization ?? '').startsWith('Basic ') ? Buffer.from(String(headers.authorization).slice(6), 'base64').toString('utf8').split(':') : [];
		const [id, secret] = [form.get('client_id') ?? basic[0], form.get('client_secret') ?? basic[1]];
		if (form.get('grant_type') !== 'client_credentials') this.shapeErrors.push('grant_type=client_credentials expected');
		if (id !== this.clientId || secret !== this.clientSecret) return { status: 401, body: { error: 'invalid_client' } };
		this.tokensIssued++;
		return { status: 200, body: { access_token: this.token, token_type: 'Bearer', expires_in: 900 } };
	}

	/** An error in the partner's own shape. */
	private refusal(status: number, message: string): StandInAnswer {
		switch (this.partner) {
			case 'meta':
				return status === 429 ? { status: 400, body: { error: { message, code: 17 } } } : { status, body: { error: { message, code: status === 401 ? 190 : 100 } } };
			case 'tiktok':
				return { status: 200, body: { code: status === 429 ? 40100 : status === 401 ? 40105 : status >= 500 ? 50000 : 40002, message } };
			case 'criteo':
				return { status, body: { errors: [{ title: message, detail: message }] } };
			case 'google':
				return { status, body: { error: { code: status, message } } };
			default:
				return { status, body: { message } };
		}
	}
}
