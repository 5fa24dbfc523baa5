import type { Consent, TrackedEvent } from '../events/model';
import { mergeMemberships } from './accounts';
import type { SqlDriver } from './driver';
import { moveConsentLog } from './consent-log';
import type { ProfileRow } from './rows';
import { dropRowsTheKeptHas, json, parsed, selectIn } from './sql';

export type IdentityKind = 'userId' | 'email' | 'anonymousId';

/**
 * The identity kind that keeps a merged-away profile id pointing at the profile it was merged
 * into, so items that still carry the old id (emitted before the merge) find the person.
 */
export const MERGED_PROFILE = 'profileId';

export interface Identity {
	kind: IdentityKind;
	value: string;
}

/** The tables whose rows belong to one person through `profile_id`. */
export const PERSONAL_TABLES = [
	'rt_events',
	'rt_carts',
	'rt_cart_progress',
	'rt_sends',
	'rt_touchpoints',
	'rt_conversions',
	'rt_campaign_members',
	'rt_audience_members',
	'rt_email_events',
	'rt_campaign_optouts',
	'rt_rec_person_items',
	'rt_account_members',
	'rt_identities',
] as const;

/**
 * The turn (see takeTurns) of the transactions that change who is who: appends, merges, erasure.
 * Without it two workers seeing one new visitor would each create a profile for them.
 */
export const IDENTITY_TURN = 'rt_identities';

/**
 * Of `profileIds`, those that still exist, held until the transaction ends: an erasure or a merge
 * (lockForChange) waits for this transaction, and one that came first has already removed them, so
 * a row written now for one of them cannot outlive the person. SQLite's write lock already keeps
 * such transactions apart; PostgreSQL needs the row lock.
 */
export async function liveProfiles(tx: SqlDriver, profileIds: readonly string[]): Promise<Set<string>> {
	const hold = tx.dialect === 'postgres' ? ' FOR KEY SHARE' : '';
	const rows = await selectIn<{ id: string }>(tx, `SELECT id FROM rt_profiles WHERE id IN (?*)${hold}`, [...profileIds]);
	return new Set(rows.map((row) => row.id));
}

/** Waits for the transactions holding these profiles (liveProfiles) and keeps new ones out until this one ends. */
export async function lockForChange(tx: SqlDriver, profileIds: readonly string[]): Promise<void> {
	if (tx.dialect === 'postgres') await selectIn(tx, 'SELECT id FROM rt_profiles WHERE id IN (?*) ORDER BY id FOR UPDATE', [...profileIds]);
}

export function normalizeEmail(email: string): string {
	return email.trim().toLowerCase();
}

export function identityKey(id: { kind: string; value: string }): string {
	return `${id.kind}:${id.value}`;
}

/** The ids an event names, strongest first. */
export function identitiesOf(event: TrackedEvent): Identity[] {
	const ids: Identity[] = [];
	if (event.userId) ids.push({ kind: 'userId', value: event.userId });
	const email = event.traits.email ?? (event.type === 'identify' ? undefined : event.properties.email);
	if (typeof email === 'string' && email.includes('@')) ids.push({ kind: 'email', value: normalizeEmail(email) });
	if (event.anonymousId) ids.push({ kind: 'anonymousId', value: event.anonymousId });
	return ids;
}

/** The profiles linked to any of `ids`, by identity key; one query per kind of id. */
export async function lookupProfileIds(
	db: SqlDriver,
	ids: Array<Identity | { kind: typeof MERGED_PROFILE; value: string }>,
): Promise<Map<string, string>> {
	const found = new Map<string, string>();
	const byKind = new Map<string, string[]>();
	for (const id of ids) {
		const values = byKind.get(id.kind);
		if (values) values.push(id.value);
		else byKind.set(id.kind, [id.value]);
	}
	for (const [kind, values] of byKind) {
		const rows = await selectIn<{ value: string; profile_id: string }>(
			db,
			'SELECT value, profile_id FROM rt_identities WHERE kind = ? AND value IN (?*)',
			values,
			[kind],
		);
		for (const row of rows) found.set(identityKey({ kind, value: row.value }), row.profile_id);
	}
	return found;
}

/**
 * The store's profile ID of each person named by an ID of any kind (emails normalised), or
 * undefined when nobody matches. A profile ID that was merged away leads to the profile it was
 * merged into: items emitted before a merge still carry the old one.
 */
export async function resolveProfileIds(
	db: SqlDriver,
	persons: ReadonlyArray<{ kind: IdentityKind | typeof MERGED_PROFILE; value: string } | undefined>,
): Promise<Array<string | undefined>> {
	const valueOf = (p: { kind: string; value: string }) => (p.kind === 'email' ? normalizeEmail(p.value) : p.value);
	const lookups = persons.filter((p): p is { kind: IdentityKind; value: string } => !!p && p.kind !== MERGED_PROFILE).map((p) => ({ kind: p.kind, value: valueOf(p) }));
	const found = lookups.length ? await lookupProfileIds(db, lookups) : new Map<string, string>();
	const direct = persons.filter((p) => p?.kind === MERGED_PROFILE).map((p) => p!.value);
	const existing = new Set((await selectIn<{ id: string }>(db, 'SELECT id FROM rt_profiles WHERE id IN (?*)', direct)).map((r) => r.id));
	const moved = await lookupProfileIds(db, direct.filter((id) => !existing.has(id)).map((value) => ({ kind: MERGED_PROFILE, value })));
	for (const [key, id] of moved) found.set(key, id);
	return persons.map((p) => {
		if (!p) return undefined;
		if (p.kind === MERGED_PROFILE && existing.has(p.value)) return p.value;
		return found.get(identityKey({ kind: p.kind, value: valueOf(p) }));
	});
}

/**
 * Moves every row of `dropId` to `keepId` and deletes `dropId`. Traits of the kept profile win;
 * a consent withdrawn on either side stays withdrawn; suppression and counters add up. Returns
 * false when either profile no longer exists.
 */
export async function mergeProfileRows(tx: SqlDriver, keepId: string, dropId: string): Promise<boolean> {
	await lockForChange(tx, [keepId, dropId]);
	const [keep] = await tx.all<ProfileRow>('SELECT * FROM rt_profiles WHERE id = ?', [keepId]);
	const [drop] = await tx.all<ProfileRow>('SELECT * FROM rt_profiles WHERE id = ?', [dropId]);
	if (!keep || !drop) return false;
	// Drawn into a campaign on both sides: the kept profile's draw stands.
	await tx.run('DELETE FROM rt_campaign_members WHERE profile_id = ? AND campaign IN (SELECT campaign FROM rt_campaign_members WHERE profile_id = ?)', [dropId, keepId]);
	await tx.run('DELETE FROM rt_campaign_optouts WHERE profile_id = ? AND campaign IN (SELECT campaign FROM rt_campaign_optouts WHERE profile_id = ?)', [dropId, keepId]);
	// In an audience on both sides: one membership stays.
	await dropRowsTheKeptHas(tx, 'rt_audience_members', ['partner', 'audience_id'], keepId, dropId);
	// A product both viewed (or bought): the earlier first time stays. The counts of people per product
	// and pair are left as they were: the merged person is counted twice there, which only weighs a little.
	await tx.run(
		'UPDATE rt_rec_person_items SET first_at = (SELECT MIN(d.first_at) FROM rt_rec_person_items d WHERE d.profile_id IN (?, ?) AND d.kind = rt_rec_person_items.kind AND d.product_id = rt_rec_person_items.product_id) WHERE profile_id = ?',
		[keepId, dropId, keepId],
	);
	await dropRowsTheKeptHas(tx, 'rt_rec_person_items', ['kind', 'product_id'], keepId, dropId);
	await mergeMemberships(tx, keepId, dropId);
	for (const table of PERSONAL_TABLES) {
		await tx.run(`UPDATE ${table} SET profile_id = ? WHERE profile_id = ?`, [keepId, dropId]);
	}
	await moveConsentLog(tx, keepId, dropId);
	const keepConsent = parsed<Consent>(keep.consent);
	const dropConsent = parsed<Consent>(drop.consent);
	const consent: Consent = { ...dropConsent, ...keepConsent };
	for (const purpose of Object.keys(consent) as Array<keyof Consent>) {
		if (keepConsent[purpose] === false || dropConsent[purpose] === false) consent[purpose] = false;
	}
	await tx.run(
		`UPDATE rt_profiles SET traits = ?, consent = ?, user_id = COALESCE(user_id, ?), email = COALESCE(email, ?),
		 suppressed = CASE WHEN suppressed > ? THEN suppressed ELSE ? END, suppressed_reason = COALESCE(suppressed_reason, ?),
		 first_seen = CASE WHEN first_seen < ? THEN first_seen ELSE ? END, last_seen = CASE WHEN last_seen > ? THEN last_seen ELSE ? END,
		 event_count = event_count + ?, order_count = order_count + ?, revenue = revenue + ? WHERE id = ?`,
		[
			json({ ...parsed<Record<string, unknown>>(drop.traits), ...parsed<Record<string, unknown>>(keep.traits) }),
			json(consent),
			drop.user_id,
			drop.email,
			drop.suppressed,
			drop.suppressed,
			drop.suppressed_reason,
			drop.first_seen,
			drop.first_seen,
			drop.last_seen,
			drop.last_seen,
			drop.event_count,
			drop.order_count,
			drop.revenue,
			keepId,
		],
	);
	await tx.run('DELETE FROM rt_profiles WHERE id = ?', [dropId]);
	await tx.run('INSERT INTO rt_identities (kind, value, profile_id, linked_at) VALUES (?, ?, ?, ?)', [
		MERGED_PROFILE,
		dropId,
		keepId,
		new Date().toISOString(),
	]);
	return true;
}
