/** Who is in which ad partner audience: what a sync compares with, and what a burn removes from. */
import type { SqlDriver } from './driver';
import { liveProfiles } from './identity';
import { insertRows, placeholders, selectIn } from './sql';

/** The people the store holds as members of one audience. */
export async function audienceMembers(db: SqlDriver, partner: string, audienceId: string): Promise<Set<string>> {
	const rows = await db.all<{ profile_id: string }>('SELECT profile_id FROM rt_audience_members WHERE partner = ? AND audience_id = ?', [partner, audienceId]);
	return new Set(rows.map((r) => r.profile_id));
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
