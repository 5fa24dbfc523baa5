import type { SqlDriver } from './driver';
import { type ProfileFields, type ProfileRow, toProfileFields } from './rows';
import { dropRowsTheKeptHas, insertRows, json, parsed, selectIn } from './sql';

/** A Segment group call as the store applies it: the person joins the company, whose traits it updates. */
export interface GroupCall {
	profileId: string;
	accountId: string;
	traits: Record<string, unknown>;
	at: string;
}

/** A company (B2B account) with its traits: company data, not personal data. */
export interface Account {
	id: string;
	traits: Record<string, unknown>;
	firstSeen: string;
	lastSeen: string;
}

export interface Membership {
	accountId: string;
	joinedAt: string;
	leftAt: string | null;
}

interface AccountRow {
	id: string;
	traits: unknown;
	first_seen: string;
	last_seen: string;
}

const toAccount = (row: AccountRow): Account => ({ id: row.id, traits: parsed(row.traits), firstSeen: row.first_seen, lastSeen: row.last_seen });

/**
 * Applies a batch's group calls in their order: each company is created or its traits updated (a
 * later call's traits win), and a person who names another company than their current one leaves
 * it for the new one. A person belongs to one company at a time.
 */
export async function recordGroupCalls(tx: SqlDriver, calls: GroupCall[]): Promise<void> {
	if (calls.length === 0) return;
	const accounts = await accountsByIds(tx, calls.map((c) => c.accountId));
	for (const call of calls) {
		const known = accounts.get(call.accountId);
		accounts.set(call.accountId, {
			id: call.accountId,
			traits: { ...known?.traits, ...call.traits },
			firstSeen: known && known.firstSeen < call.at ? known.firstSeen : call.at,
			lastSeen: known && known.lastSeen > call.at ? known.lastSeen : call.at,
		});
	}
	const touched = [...new Set(calls.map((c) => c.accountId))].map((id) => accounts.get(id)!);
	await insertRows(
		tx,
		'INSERT INTO rt_accounts (id, traits, first_seen, last_seen)',
		touched.map((a) => [a.id, json(a.traits), a.firstSeen, a.lastSeen]),
		'ON CONFLICT (id) DO UPDATE SET traits = excluded.traits, first_seen = excluded.first_seen, last_seen = excluded.last_seen',
	);
	const current = await currentMemberships(tx, calls.map((c) => c.profileId));
	for (const call of calls) {
		const now = current.get(call.profileId);
		if (now?.accountId === call.accountId) continue;
		if (now) {
			// A call dated before the current membership began still ends it, at its start.
			const leftAt = call.at > now.joinedAt ? call.at : now.joinedAt;
			await tx.run('UPDATE rt_account_members SET left_at = ? WHERE profile_id = ? AND left_at IS NULL', [leftAt, call.profileId]);
		}
		await tx.run(
			`INSERT INTO rt_account_members (account_id, profile_id, joined_at, left_at) VALUES (?, ?, ?, NULL)
			 ON CONFLICT (account_id, profile_id, joined_at) DO UPDATE SET left_at = NULL`,
			[call.accountId, call.profileId, call.at],
		);
		current.set(call.profileId, { accountId: call.accountId, joinedAt: call.at, leftAt: null });
	}
}

/** The company each of these people currently belongs to, by profile id. */
export async function currentMemberships(db: SqlDriver, profileIds: string[]): Promise<Map<string, Membership>> {
	const rows = await selectIn<{ account_id: string; profile_id: string; joined_at: string }>(
		db,
		'SELECT account_id, profile_id, joined_at FROM rt_account_members WHERE left_at IS NULL AND profile_id IN (?*)',
		profileIds,
	);
	return new Map(rows.map((r) => [r.profile_id, { accountId: r.account_id, joinedAt: r.joined_at, leftAt: null }]));
}

/**
 * Before `dropId`'s rows move to `keepId` (a merge): of two current memberships the later one stands
 * and the other ends when it began, or, both in the same company, the earlier one goes on; a
 * membership both profiles hold is kept once.
 */
export async function mergeMemberships(tx: SqlDriver, keepId: string, dropId: string): Promise<void> {
	const current = await tx.all<{ account_id: string; profile_id: string; joined_at: string }>(
		'SELECT account_id, profile_id, joined_at FROM rt_account_members WHERE left_at IS NULL AND profile_id IN (?, ?) ORDER BY joined_at DESC',
		[keepId, dropId],
	);
	if (current.length === 2) {
		const [later, earlier] = current;
		if (later.account_id === earlier.account_id) {
			await tx.run('DELETE FROM rt_account_members WHERE profile_id = ? AND account_id = ? AND joined_at = ?', [later.profile_id, later.account_id, later.joined_at]);
		} else {
			await tx.run('UPDATE rt_account_members SET left_at = ? WHERE profile_id = ? AND account_id = ? AND joined_at = ?', [later.joined_at, earlier.profile_id, earlier.account_id, earlier.joined_at]);
		}
	}
	await dropRowsTheKeptHas(tx, 'rt_account_members', ['account_id', 'joined_at'], keepId, dropId);
}

export async function accountById(db: SqlDriver, id: string): Promise<Account | undefined> {
	const [row] = await db.all<AccountRow>('SELECT * FROM rt_accounts WHERE id = ?', [id]);
	return row ? toAccount(row) : undefined;
}

/** Companies by id, for the batch of a segment evaluation. */
export async function accountsByIds(db: SqlDriver, ids: string[]): Promise<Map<string, Account>> {
	const rows = await selectIn<AccountRow>(db, 'SELECT * FROM rt_accounts WHERE id IN (?*)', ids);
	return new Map(rows.map((row) => [row.id, toAccount(row)]));
}

export type AccountPerson = ProfileFields & Membership;

/**
 * The people of a company, current members first (newest first), then, when asked, those who left;
 * at most `limit`.
 */
export async function accountPeople(db: SqlDriver, accountId: string, options: { formerToo: boolean; limit: number }): Promise<AccountPerson[]> {
	const rows = await db.all<ProfileRow & { joined_at: string; left_at: string | null }>(
		`SELECT p.*, m.joined_at, m.left_at FROM rt_account_members m JOIN rt_profiles p ON p.id = m.profile_id
		 WHERE m.account_id = ?${options.formerToo ? '' : ' AND m.left_at IS NULL'}
		 ORDER BY CASE WHEN m.left_at IS NULL THEN 0 ELSE 1 END, m.joined_at DESC, p.id LIMIT ?`,
		[accountId, options.limit],
	);
	return rows.map((row) => ({ ...toProfileFields(row), accountId, joinedAt: row.joined_at, leftAt: row.left_at }));
}

/** A person's memberships, newest first, with each company: for the person's Get and Export. */
export async function membershipsOf(db: SqlDriver, profileId: string): Promise<Array<Membership & { account: Account }>> {
	const rows = await db.all<AccountRow & { joined_at: string; left_at: string | null }>(
		`SELECT a.*, m.joined_at, m.left_at FROM rt_account_members m JOIN rt_accounts a ON a.id = m.account_id
		 WHERE m.profile_id = ? ORDER BY m.joined_at DESC`,
		[profileId],
	);
	return rows.map((row) => ({ accountId: row.id, joinedAt: row.joined_at, leftAt: row.left_at, account: toAccount(row) }));
}
