/** Who is in which ad partner audience: what a sync compares with, and what a burn removes from. */
import { consentSubject } from './consent-log';
import type { SqlDriver } from './driver';
import { liveProfiles } from './identity';
import { type ProfileRow, toProfileFields } from './rows';
import { insertRows, json, parsed, placeholders, selectIn } from './sql';

/** Members read a page: an audience of a million is then read in steps with the event loop's turns between. */
const MEMBER_PAGE = 10_000;

/** The people the store holds as members of one audience. */
export async function audienceMembers(db: SqlDriver, partner: string, audienceId: string): Promise<Set<string>> {
	const members = new Set<string>();
	let after = '';
	for (;;) {
		const rows = await db.all<{ profile_id: string }>(
			`SELECT profile_id FROM rt_audience_members WHERE partner = ? AND audience_id = ? AND profile_id > ? ORDER BY profile_id LIMIT ${MEMBER_PAGE}`,
			[partner, audienceId, after],
		);
		for (const r of rows) members.add(r.profile_id);
		if (rows.length < MEMBER_PAGE) return members;
		after = rows[rows.length - 1].profile_id;
	}
}

/** How many people the package added to an audience and are still in it. */
export async function audienceSize(db: SqlDriver, partner: string, audienceId: string): Promise<number> {
	const [row] = await db.all<{ n: number | string }>('SELECT COUNT(*) AS n FROM rt_audience_members WHERE partner = ? AND audience_id = ?', [partner, audienceId]);
	return Number(row?.n ?? 0);
}

/** The audiences of a partner each of these people was added to. */
export async function audiencesOf(db: SqlDriver, partner: string, profileIds: string[]): Promise<Map<string, string[]>> {
	const rows = await selectIn<{ profile_id: string; audience_id: string }>(db, 'SELECT profile_id, audience_id FROM rt_audience_members WHERE partner = ? AND profile_id IN (?*)', profileIds, [partner]);
	const found = new Map<string, string[]>();
	for (const r of rows) found.set(r.profile_id, [...(found.get(r.profile_id) ?? []), r.audience_id]);
	return found;
}

/**
 * Records what the partner confirmed: these people added to, or removed from, the audience. A
 * person erased meanwhile is not recorded: the store keeps no row about them.
 */
export async function recordAudienceChanges(db: SqlDriver, partner: string, audienceId: string, change: { added: string[]; removed: string[] }, at: Date): Promise<void> {
	await db.transaction(async (tx) => {
		const live = await liveProfiles(tx, change.added);
		await insertRows(
			tx,
			'INSERT INTO rt_audience_members (partner, audience_id, profile_id, added_at)',
			[...new Set(change.added)].filter((id) => live.has(id)).map((id) => [partner, audienceId, id, at.toISOString()]),
			'ON CONFLICT (partner, audience_id, profile_id) DO NOTHING',
		);
		for (let i = 0; i < change.removed.length; i += 500) {
			const chunk = change.removed.slice(i, i + 500);
			await tx.run(`DELETE FROM rt_audience_members WHERE partner = ? AND audience_id = ? AND profile_id IN (${placeholders(chunk.length)})`, [partner, audienceId, ...chunk]);
		}
	});
}

/** What a sync sends: who is wanted and not yet in, and who is in and no longer wanted. */
export function syncPlan(wanted: Iterable<string>, members: ReadonlySet<string>): { add: string[]; remove: string[] } {
	const want = new Set(wanted);
	return { add: [...want].filter((id) => !members.has(id)), remove: [...members].filter((id) => !want.has(id)) };
}

/** What a partner needs to find an erased person again: their identifiers, none of their history. */
export interface ExitPerson {
	email: string | null;
	userId: string | null;
	traits: Record<string, unknown>;
}

/** The traits that hold identifiers a partner can match (see audiencePerson). */
const IDENTIFIER_TRAITS = ['email', 'phone', 'first_name', 'firstName', 'last_name', 'lastName', 'address', 'city', 'zip', 'postal_code', 'country'];

/**
 * Erasure: the partner audiences the person is in, queued with their identifiers so that the
 * consent cascade can still take them out after every other row about them is gone.
 */
export async function queueAudienceExits(tx: SqlDriver, profileId: string, at: Date): Promise<void> {
	const memberships = await tx.all<{ partner: string; audience_id: string }>('SELECT partner, audience_id FROM rt_audience_members WHERE profile_id = ?', [profileId]);
	if (memberships.length === 0) return;
	const [row] = await tx.all<ProfileRow>('SELECT * FROM rt_profiles WHERE id = ?', [profileId]);
	if (!row) return;
	const profile = toProfileFields(row);
	const person: ExitPerson = {
		email: profile.email,
		userId: profile.userId,
		traits: Object.fromEntries(IDENTIFIER_TRAITS.filter((k) => profile.traits[k] !== undefined).map((k) => [k, profile.traits[k]])),
	};
	await insertRows(
		tx,
		'INSERT INTO rt_audience_exits (partner, audience_id, subject, person, queued_at)',
		memberships.map((m) => [m.partner, m.audience_id, consentSubject(profileId), json(person), at.toISOString()]),
		'ON CONFLICT (partner, audience_id, subject) DO NOTHING',
	);
}

/** One person to take out of one audience because of consent: living (withdrawn or suppressed) or erased. */
export interface ConsentExit {
	audienceId: string;
	/** Living people: their profile; erased people: undefined. */
	profileId?: string;
	/** Erased people: their consent-log subject and queued identifiers. */
	subject?: string;
	person?: ExitPerson;
}

/**
 * The members of a partner's audiences who must leave: suppressed people, people whose ad consent
 * was withdrawn, and erased people still queued; at most `limit`, the queued ones with the fewest
 * attempts first.
 */
export async function consentExits(db: SqlDriver, partner: string, limit: number): Promise<ConsentExit[]> {
	const adsWithdrawn = db.dialect === 'postgres' ? "(p.consent->>'ads') = 'false'" : "json_extract(p.consent, '$.ads') = 0";
	const living = await db.all<{ profile_id: string; audience_id: string }>(
		`SELECT m.profile_id, m.audience_id FROM rt_audience_members m JOIN rt_profiles p ON p.id = m.profile_id
		 WHERE m.partner = ? AND (p.suppressed = 1 OR ${adsWithdrawn}) ORDER BY m.audience_id, m.profile_id LIMIT ?`,
		[partner, limit],
	);
	const erased = await db.all<{ audience_id: string; subject: string; person: unknown }>(
		'SELECT audience_id, subject, person FROM rt_audience_exits WHERE partner = ? ORDER BY attempts, queued_at LIMIT ?',
		[partner, Math.max(0, limit - living.length)],
	);
	return [
		...living.map((r) => ({ audienceId: r.audience_id, profileId: r.profile_id })),
		...erased.map((r) => ({ audienceId: r.audience_id, subject: r.subject, person: parsed<ExitPerson>(r.person) })),
	];
}

/** Erased people the partner confirmed removed leave the queue; failed ones stay with the partner's reason. */
export async function settleErasedExits(
	db: SqlDriver,
	partner: string,
	settled: ReadonlyArray<{ audienceId: string; subject: string; error?: string }>,
	source: string,
	at: Date,
): Promise<void> {
	if (settled.length === 0) return;
	await db.transaction(async (tx) => {
		for (const s of settled) {
			if (s.error) {
				await tx.run('UPDATE rt_audience_exits SET attempts = attempts + 1, last_error = ? WHERE partner = ? AND audience_id = ? AND subject = ?', [s.error.slice(0, 500), partner, s.audienceId, s.subject]);
				continue;
			}
			await tx.run('DELETE FROM rt_audience_exits WHERE partner = ? AND audience_id = ? AND subject = ?', [partner, s.audienceId, s.subject]);
			await tx.run("INSERT INTO rt_consent_log (profile_id, subject, purpose, action, source, detail, at) VALUES (NULL, ?, 'ads', 'left_audience', ?, ?, ?)", [s.subject, source, `${partner} audience ${s.audienceId}`, at.toISOString()]);
		}
	});
}
