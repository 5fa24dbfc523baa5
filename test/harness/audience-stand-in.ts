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
	/** Lookalike audiences created, by their new ID: the request's body, and what makes one a duplicate (Meta). */
	readonly lookalikes = new Map<string, { body: Record<string, unknown>; key: string }>();
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
		const lookalike = this.lookalike(method, path, headers, b);
		if (lookalike) {
			this.requests.push({ method, url, count: 0, body });
			return lookalike;
		}
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

	/**
	 * Lookalike creation (REFERENCE-2.md, D), checked field by field. The partner refuses a seed
	 * it holds fewer than 100 people of (in the stand-in's words); Meta also a lookalike that
	 * already exists with the same seed, country and size (#2654).
	 */
	private lookalike(method: string, path: string, headers: IncomingHttpHeaders, b: Record<string, unknown>): StandInAnswer | undefined {
		const metaPath = this.partner === 'meta' && method === 'POST' && /^\/act_\d+\/customaudiences$/.test(path);
		const tiktokPath = this.partner === 'tiktok' && method === 'POST' && path === '/open_api/v1.3/dmp/custom_audience/lookalike/create/';
		if (!metaPath && !tiktokPath) return undefined;
		const problems: string[] = [];
		let seed = '';
		let key = '';
		if (metaPath) {
			if (typeof b.name !== 'string' || !b.name) problems.push('name: a string required');
			if (b.subtype !== 'LOOKALIKE') problems.push('subtype: LOOKALIKE expected');
			if (typeof b.origin_audience_id !== 'string' || !b.origin_audience_id) problems.push('origin_audience_id: a string required');
			let spec: Record<string, unknown> = {};
			if (typeof b.lookalike_spec !== 'string') problems.push('lookalike_spec: a JSON-encoded string expected');
			else spec = JSON.parse(b.lookalike_spec) as Record<string, unknown>;
			const step = (v: unknown) => typeof v === 'number' && Math.abs(v * 100 - Math.round(v * 100)) < 1e-9;
			const { ratio, starting_ratio: starting, country } = spec;
			if (!step(ratio) || (ratio as number) < 0.01 || (ratio as number) > 0.2) problems.push(`lookalike_spec.ratio: 0.01 to 0.20 in steps of 0.01 (got ${String(ratio)})`);
			if (starting !== undefined && (!step(starting) || (starting as number) < 0 || (starting as number) >= (ratio as number))) problems.push('lookalike_spec.starting_ratio: in steps of 0.01, below ratio');
			if (spec.type !== undefined) problems.push('lookalike_spec.type: sent with ratio, Meta ignores the ratio');
			if (typeof country !== 'string' || !/^[A-Z]{2}$/.test(country)) problems.push('lookalike_spec.country: ISO 3166-1 alpha-2 expected');
			const unknown = Object.keys(spec).filter((k) => !['ratio', 'starting_ratio', 'country', 'type'].includes(k));
			if (unknown.length) problems.push(`lookalike_spec: unknown ${unknown.join(', ')}`);
			seed = String(b.origin_audience_id);
			key = JSON.stringify([seed, country, ratio, starting]);
		} else {
			const spec = (b.lookalike_spec ?? {}) as Record<string, unknown>;
			const strings = (v: unknown, allowed?: readonly string[]) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && (!allowed || allowed.includes(x)));
			if (typeof b.advertiser_id !== 'string' || !b.advertiser_id) problems.push('advertiser_id: a string required');
			if (typeof b.custom_audience_name !== 'string' || !b.custom_audience_name || Array.from(b.custom_audience_name).length > 128) problems.push('custom_audience_name: 1 to 128 characters');
			if (typeof spec.source_audience_id !== 'string' || !spec.source_audience_id) problems.push('lookalike_spec.source_audience_id: a string required');
			if (!['NARROW', 'BALANCED', 'BROAD'].includes(String(spec.audience_size))) problems.push('lookalike_spec.audience_size: NARROW, BALANCED or BROAD');
			if (!strings(spec.location_ids) || (spec.location_ids as string[]).some((id) => !/^\d+$/.test(id))) problems.push('lookalike_spec.location_ids: location ID strings');
			if (typeof spec.include_source !== 'boolean') problems.push('lookalike_spec.include_source: a boolean');
			if (!['ALL', 'ANDROID', 'IOS'].includes(String(spec.mobile_os))) problems.push('lookalike_spec.mobile_os: ALL, ANDROID or IOS');
			if (!strings(spec.placements, ['TikTok', 'TopBuzz & BuzzVideo', 'Pangle'])) problems.push('lookalike_spec.placements: TikTok, TopBuzz & BuzzVideo or Pangle');
			seed = String(spec.source_audience_id);
		}
		this.shapeErrors.push(...problems);
		if (!this.authorised(headers)) return this.refusal(401, 'Invalid access token');
		const fail = this.forcedFailure();
		if (fail) return { ...this.refusal(fail.status, fail.status === 429 ? 'Too many calls' : 'Internal error'), ...(fail.headers ? { headers: fail.headers } : {}) };
		if (problems.length) return this.refusal(400, problems[0]);
		if (this.members(seed).size < 100) {
			return metaPath
				? { status: 400, body: { error: { message: 'Invalid parameter', code: 100, error_user_msg: 'The source audience is too small: it needs at least 100 people from one country.' } } }
				: { status: 200, body: { code: 40002, message: 'The size of source audience should be no less than 100.' } };
		}
		if (metaPath && [...this.lookalikes.values()].some((l) => l.key === key)) {
			return { status: 400, body: { error: { message: 'Invalid parameter', code: 2654, error_subcode: 1713007, error_user_msg: 'A lookalike audience with this source, country and size already exists.' } } };
		}
		const id = `${this.partner === 'meta' ? '2385' : '7'}${String(this.lookalikes.size + 1).padStart(6, '0')}`;
		this.lookalikes.set(id, { body: b, key });
		return metaPath ? { status: 200, body: { id } } : { status: 200, body: { code: 0, message: 'OK', request_id: `req-${id}`, data: { custom_audience_id: id } } };
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
