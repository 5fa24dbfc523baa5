import type { SqlDriver } from '../store/driver';
import { liveProfiles } from '../store/identity';
import { insertTouchpoints } from '../store/attribution';
import { placeholders, selectIn, takeTurns } from '../store/sql';

/** One planned send, as recorded in `rt_sends` before the provider is called. */
export interface SendRecord {
	key: string;
	profileId: string;
	channel: string;
	campaign: string | null;
	step: number | null;
}

/**
 * What the ledger says about a key:
 * - `reserved`: this run may send (a new key, or one whose earlier send failed);
 * - `sent`: an earlier run sent it;
 * - `pending`: an earlier run reserved it and never confirmed (it may or may not have reached the
 *   provider): not sent again, so a crash can never cause a double;
 * - `capped`: the person already has as many sends of the channel as the cap allows;
 * - `gone`: the person was erased (or merged away) since the run found them.
 */
export type Reservation = 'reserved' | 'sent' | 'pending' | 'capped' | 'gone';

/** At most `max` sends of a channel to a person within `withinHours`; a failed send does not count. */
export interface SendCap {
	max: number;
	withinHours: number;
}

/**
 * Reserves each key before the provider is called, in one transaction. A key is taken by an
 * insert that does nothing on conflict, or by turning a failed send back to pending, so two
 * executions racing on one key never both get `reserved`. With a cap, the reservations of every
 * process take turns, so that runs sending to one person at once cannot all pass it.
 */
export async function reserveSends(db: SqlDriver, records: SendRecord[], now = new Date(), cap?: SendCap): Promise<Map<string, Reservation>> {
	const outcome = new Map<string, Reservation>();
	await db.transaction(async (tx) => {
		const live = await liveProfiles(tx, records.map((r) => r.profileId));
		const overCap = cap ? await capCounter(tx, records, cap, now) : () => false;
		for (const r of records) {
			if (!live.has(r.profileId)) {
				outcome.set(r.key, 'gone');
				continue;
			}
			if (overCap(r)) {
				outcome.set(r.key, 'capped');
				continue;
			}
			const inserted = await tx.run(
				`INSERT INTO rt_sends (idempotency_key, profile_id, channel, campaign, step, status, created_at)
				 VALUES (?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT (idempotency_key) DO NOTHING`,
				[r.key, r.profileId, r.channel, r.campaign, r.step, now.toISOString()],
			);
			if (inserted === 1) {
				outcome.set(r.key, 'reserved');
				continue;
			}
			const retried = await tx.run("UPDATE rt_sends SET status = 'pending', created_at = ?, confirmed_at = NULL WHERE idempotency_key = ? AND status = 'failed'", [
				now.toISOString(),
				r.key,
			]);
			if (retried === 1) {
				outcome.set(r.key, 'reserved');
				continue;
			}
			const [row] = await tx.all<{ status: string }>('SELECT status FROM rt_sends WHERE idempotency_key = ?', [r.key]);
			outcome.set(r.key, row?.status === 'sent' ? 'sent' : 'pending');
		}
	});
	return outcome;
}

/**
 * Tells, record by record, whether reserving it would pass the person's cap for its channel,
 * counting the sends stored in the window and those reserved before it in this transaction. Keys
 * already sent or pending are not new sends and are left to the ledger.
 */
async function capCounter(tx: SqlDriver, records: SendRecord[], cap: SendCap, now: Date): Promise<(record: SendRecord) => boolean> {
	await takeTurns(tx, 'rt_sends');
	const since = new Date(now.getTime() - cap.withinHours * 3_600_000).toISOString();
	const counts = new Map<string, number>();
	const personal = (profileId: string, channel: string) => `${profileId}\n${channel}`;
	const stored = await selectIn<{ profile_id: string; channel: string; n: number }>(
		tx,
		"SELECT profile_id, channel, COUNT(*) AS n FROM rt_sends WHERE status <> 'failed' AND created_at >= ? AND profile_id IN (?*) GROUP BY profile_id, channel",
		records.map((r) => r.profileId),
		[since],
	);
	for (const row of stored) counts.set(personal(row.profile_id, row.channel), Number(row.n));
	const taken = new Set(
		(await selectIn<{ idempotency_key: string }>(tx, "SELECT idempotency_key FROM rt_sends WHERE status <> 'failed' AND idempotency_key IN (?*)", records.map((r) => r.key))).map(
			(row) => row.idempotency_key,
		),
	);
	return (record) => {
		if (taken.has(record.key)) return false;
		const key = personal(record.profileId, record.channel);
		const count = counts.get(key) ?? 0;
		if (count >= cap.max) return true;
		counts.set(key, count + 1);
		return false;
	};
}

/**
 * Records each provider answer: sent keys become `sent` and a touchpoint (channel email, campaign,
 * step, the link's click id) is written for attribution; failed keys become `failed`, so a later
 * run may try them again.
 */
export async function confirmSends(
	db: SqlDriver,
	results: Array<{ record: SendRecord; sent: boolean; clickId?: string; source?: string; providerId?: string }>,
	now = new Date(),
): Promise<void> {
	if (results.length === 0) return;
	const at = now.toISOString();
	await db.transaction(async (tx) => {
		// First, before any row of the person is touched: an erasure takes the profile before their rows.
		const live = await liveProfiles(tx, results.map((r) => r.record.profileId));
		for (const status of ['sent', 'failed'] as const) {
			const keys = results.filter((r) => r.sent === (status === 'sent')).map((r) => r.record.key);
			if (keys.length === 0) continue;
			await tx.run(`UPDATE rt_sends SET status = ?, confirmed_at = ? WHERE status = 'pending' AND idempotency_key IN (${placeholders(keys.length)})`, [status, at, ...keys]);
		}
		// The provider's message id: its event webhooks name the send by it.
		const ids = results.filter((r) => r.sent && r.providerId).map((r) => [r.record.key, r.providerId!]);
		for (let i = 0; i < ids.length; i += 1000) {
			const chunk = ids.slice(i, i + 1000);
			await tx.run(
				`UPDATE rt_sends SET provider_id = v.column2 FROM (VALUES ${chunk.map(() => '(CAST(? AS TEXT), CAST(? AS TEXT))').join(', ')}) AS v WHERE rt_sends.idempotency_key = v.column1`,
				chunk.flat(),
			);
		}
		// A person erased while their email was under way keeps no touchpoint.
		await insertTouchpoints(
			tx,
			results
				.filter((r) => r.sent && live.has(r.record.profileId))
				.map(({ record, clickId, source }) => ({
					profileId: record.profileId,
					id: record.key,
					channel: record.channel,
					source: source ?? null,
					medium: 'email',
					campaign: record.campaign,
					clickId: clickId ?? null,
					kind: 'email_sent',
					at: now,
				})),
		);
	});
}

/** Gives back keys reserved by this run but never sent (the run stopped first), so a later run may send them. */
export async function releaseSends(db: SqlDriver, keys: string[]): Promise<void> {
	if (keys.length === 0) return;
	await db.run(`DELETE FROM rt_sends WHERE status = 'pending' AND idempotency_key IN (${placeholders(keys.length)})`, keys);
}
