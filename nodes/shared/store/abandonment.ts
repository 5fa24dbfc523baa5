import type { Consent, ConsentPurpose } from '../events/model';
import type { Cart } from './carts';
import type { SqlDriver, SqlValue } from './driver';
import { CART_COLUMNS, type CartRow, toCart } from './rows';
import { parsed } from './sql';

/** What makes a cart abandoned for one Abandoned Cart Trigger, and when its steps are due. */
export interface AbandonmentRules {
	/** The trigger's own key (workflow and node): each trigger follows every cart on its own. */
	triggerKey: string;
	/** Step n is due when the cart has been idle for delaysMs[n - 1]; ascending. */
	delaysMs: number[];
	/** Only carts that reached checkout (Checkout Started), not every cart with a product added. */
	checkoutOnly: boolean;
	minValue: number;
	/** Carts of people known by no email and no userId (for banner-only retargeting). */
	includeAnonymous: boolean;
	/** The consent whose withdrawal (or a suppression) is an opt-out. */
	consentPurpose: ConsentPurpose;
	/** What ends a cart's sequence: an order, an emptied cart, an opt-out. */
	endOn: { order: boolean; emptied: boolean; optOut: boolean };
	/** A cart idle for longer than the last delay plus this is not followed any more. */
	lookbackMs: number;
	/** At most this many carts a poll; the rest come at the next one. */
	limit: number;
}

export interface CartOwner {
	id: string;
	userId: string | null;
	email: string | null;
	traits: Record<string, unknown>;
	consent: Consent;
}

export interface DueCart {
	cart: Cart;
	/** 1-based. When several steps fell due since the last poll, the latest one; earlier ones are skipped. */
	step: number;
	profile: CartOwner;
}

interface CandidateRow extends CartRow {
	user_id: string | null;
	email: string | null;
	traits: unknown;
	consent: unknown;
	suppressed: number;
	last_step: number | null;
	progress_activity: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Carts idle since before this are no longer followed. */
function windowStart(rules: AbandonmentRules, now: number): number {
	return now - rules.delaysMs[rules.delaysMs.length - 1] - rules.lookbackMs;
}

/**
 * The carts whose next step is due at `now`, oldest first. Only carts idle between the first delay
 * and the last delay plus the look-back are read, through the (status, last_activity) index, so the
 * cost follows the carts of that window, not every cart ever stored. A cart that changed after its
 * last step (the person came back) starts its sequence again.
 */
export async function dueCarts(db: SqlDriver, rules: AbandonmentRules, now: number): Promise<DueCart[]> {
	const delays = rules.delaysMs;
	const statuses = followedStatuses(rules);
	const rows = await db.all<CandidateRow>(
		`SELECT ${CART_COLUMNS.split(', ')
			.map((c) => `c.${c}`)
			.join(', ')}, p.user_id, p.email, p.traits, p.consent, p.suppressed, g.last_step, g.activity_at AS progress_activity
		 FROM rt_carts c
		 JOIN rt_profiles p ON p.id = c.profile_id
		 LEFT JOIN rt_cart_progress g ON g.trigger_key = ? AND g.cart_id = c.id
		 WHERE c.status IN (${statuses.map(() => '?').join(', ')}) AND c.last_activity > ? AND c.last_activity <= ?
		   AND c.value >= ? ${rules.checkoutOnly ? 'AND c.checkout_at IS NOT NULL' : ''}
		 ORDER BY c.last_activity`,
		[rules.triggerKey, ...statuses, iso(windowStart(rules, now)), iso(now - delays[0]), rules.minValue],
	);
	const due: DueCart[] = [];
	for (const row of rows) {
		const idle = now - Date.parse(row.last_activity);
		const step = delays.filter((delay) => idle >= delay).length;
		const restarted = row.progress_activity !== null && row.progress_activity < row.last_activity;
		const done = restarted ? 0 : Number(row.last_step ?? 0);
		if (step <= done) continue;
		const consent = parsed<Consent>(row.consent);
		if (rules.endOn.optOut && (Number(row.suppressed) === 1 || consent[rules.consentPurpose] === false)) continue;
		if (!rules.includeAnonymous && !row.email && !row.user_id) continue;
		due.push({
			cart: toCart(row),
			step,
			profile: { id: row.profile_id, userId: row.user_id, email: row.email, traits: parsed(row.traits), consent },
		});
		if (due.length >= rules.limit) break;
	}
	return due;
}

/** The cart statuses a trigger still follows: open, and those whose ending is turned off. */
function followedStatuses(rules: AbandonmentRules): string[] {
	return ['open', ...(rules.endOn.emptied ? [] : ['emptied']), ...(rules.endOn.order ? [] : ['converted'])];
}

/**
 * Records that `carts` got their step, and returns the ones this caller won. The row is built from
 * the cart as it is at claim time: a cart that changed, ended or was erased since it was read is
 * not claimed, and the row belongs to the cart's current owner. A cart step is claimed once: two
 * pollers racing for it both try the conditional upsert and the loser finds it taken; a claim for
 * an older activity never overwrites one for newer activity. Rows are taken in cart id order, so
 * two claims over the same carts cannot deadlock.
 */
export async function claimCarts(db: SqlDriver, rules: AbandonmentRules, carts: DueCart[], now: number): Promise<DueCart[]> {
	if (carts.length === 0) return [];
	const sorted = [...carts].sort((a, b) => (a.cart.id < b.cart.id ? -1 : a.cart.id > b.cart.id ? 1 : 0));
	const statuses = followedStatuses(rules);
	const won = new Set<string>();
	await db.transaction(async (tx) => {
		const values: SqlValue[][] = sorted.map((d) => [d.cart.id, d.step, d.cart.lastActivity]);
		for (let i = 0; i < values.length; i += 500) {
			const chunk = values.slice(i, i + 500);
			// CROSS JOIN makes SQLite loop over the claimed values and look each cart up by its key
			// (with a plain JOIN it scanned every cart); the conditions sit in WHERE, which also keeps
			// SQLite from reading the upsert's ON as a join's.
			const rows = await tx.all<{ cart_id: string }>(
				`INSERT INTO rt_cart_progress (trigger_key, cart_id, profile_id, last_step, activity_at, updated_at)
				 SELECT ?, c.id, c.profile_id, v.column2, c.last_activity, ?
				 FROM (VALUES ${chunk.map(() => '(CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS TEXT))').join(', ')}) AS v
				 CROSS JOIN rt_carts c
				 WHERE c.id = v.column1 AND c.last_activity = v.column3 AND c.status IN (${statuses.map(() => '?').join(', ')})
				 ON CONFLICT (trigger_key, cart_id) DO UPDATE SET last_step = excluded.last_step, activity_at = excluded.activity_at,
				 updated_at = excluded.updated_at, profile_id = excluded.profile_id
				 WHERE rt_cart_progress.activity_at < excluded.activity_at
				 OR (rt_cart_progress.activity_at = excluded.activity_at AND rt_cart_progress.last_step < excluded.last_step)
				 RETURNING cart_id`,
				[rules.triggerKey, iso(now), ...chunk.flat(), ...statuses],
			);
			for (const row of rows) won.add(row.cart_id);
		}
		// Progress on carts past the look-back window is never read again.
		await tx.run('DELETE FROM rt_cart_progress WHERE trigger_key = ? AND activity_at <= ?', [rules.triggerKey, iso(windowStart(rules, now))]);
	});
	return carts.filter((d) => won.has(d.cart.id));
}
