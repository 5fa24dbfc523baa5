import type { SqlDriver } from '../store/driver';
import { insertRows, placeholders } from '../store/sql';

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
 *   provider): not sent again, so a crash can never cause a double.
 */
export type Reservation = 'reserved' | 'sent' | 'pending';

/**
 * Reserves each key before the provider is called, in one transaction. A key is taken by an
 * insert that does nothing on conflict, or by turning a failed send back to pending, so two
 * executions racing on one key never both get `reserved`.
 */
export async function reserveSends(db: SqlDriver, records: SendRecord[], now = new Date()): Promise<Map<string, Reservation>> {
	const outcome = new Map<string, Reservation>();
	await db.transaction(async (tx) => {
		for (const r of records) {
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
 * Records each provider answer: sent keys become `sent` and a touchpoint (channel email, campaign,
 * step, the link's click id) is written for attribution; failed keys become `failed`, so a later
 * run may try them again.
 */
export async function confirmSends(
	db: SqlDriver,
	results: Array<{ record: SendRecord; sent: boolean; clickId?: string; source?: string }>,
	now = new Date(),
): Promise<void> {
	if (results.length === 0) return;
	const at = now.toISOString();
	await db.transaction(async (tx) => {
		for (const status of ['sent', 'failed'] as const) {
			const keys = results.filter((r) => r.sent === (status === 'sent')).map((r) => r.record.key);
			if (keys.length === 0) continue;
			await tx.run(`UPDATE rt_sends SET status = ?, confirmed_at = ? WHERE status = 'pending' AND idempotency_key IN (${placeholders(keys.length)})`, [status, at, ...keys]);
		}
		await insertRows(
			tx,
			'INSERT INTO rt_touchpoints (profile_id, message_id, channel, source, medium, campaign, click_id, kind, occurred_at)',
			results
				.filter((r) => r.sent)
				.map(({ record, clickId, source }) => [record.profileId, record.key, record.channel, source ?? null, 'email', record.campaign, clickId ?? null, 'email_sent', at]),
		);
	});
}

/** Gives back keys reserved by this run but never sent (the run stopped first), so a later run may send them. */
export async function releaseSends(db: SqlDriver, keys: string[]): Promise<void> {
	if (keys.length === 0) return;
	await db.run(`DELETE FROM rt_sends WHERE status = 'pending' AND idempotency_key IN (${placeholders(keys.length)})`, keys);
}
