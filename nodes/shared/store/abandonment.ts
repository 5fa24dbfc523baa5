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

/** Due carts read a page, in (idle since, id) order, until a poll's limit is reached. */
const DUE_PAGE = 1000;

/**
 * The carts whose next step is due at `now`, oldest first. Only carts idle between the first delay
 * and the last delay plus the look-back are read, through the (status, last_activity) index, so the
 * cost follows the carts of that window, not every cart ever stored; and of those, SQL already
 * leaves out the ones whose next step is not due, so that carts handled at earlier polls are not
 * read again at each one. A cart that changed after its last step (the person came back) starts its
 * sequence again.
 */
export async function dueCarts(db: SqlDriver, rules: AbandonmentRules, now: number): Promise<DueCart[]> {
	const delays = rules.delaysMs;
	const statuses = followedStatuses(rules);
	// The next step after step k is due once the cart has been idle delays[k]; after the last, none is.
	const nextDue = delays.map((_, k) => `WHEN ${k} THEN ?`).join(' ');
	const due: DueCart[] = [];
	const since = iso(windowStart(rules, now));
	let after = { at: since, id: '' };
	while (due.length < rules.limit) {
		const rows = await db.all<CandidateRow>(
			`SELECT ${CART_COLUMNS.split(', ')
				.map((c) => `c.${c}`)
				.join(', ')}, p.user_id, p.email, p.traits, p.consent, p.suppressed, g.last_step, g.activity_at AS progress_activity
			 FROM rt_carts c
			 JOIN rt_profiles p ON p.id = c.profile_id
			 LEFT JOIN rt_cart_progress g ON g.trigger_key = ? AND g.cart_id = c.id
			 WHERE c.status IN (${statuses.map(() => '?').join(', ')}) AND c.last_activity > ? AND c.last_activity <= ?
			   AND (c.last_activity > ? OR (c.last_activity = ? AND c.id > ?))
			   AND c.value >= ? ${rules.checkoutOnly ? 'AND c.checkout_at IS NOT NULL' : ''}
			   AND (g.last_step IS NULL OR g.activity_at < c.last_activity OR c.last_activity <= CASE g.last_step ${nextDue} ELSE '' END)
			 ORDER BY c.last_activity, c.id
			 LIMIT ${DUE_PAGE}`,
			[rules.triggerKey, ...statuses, since, iso(now - delays[0]), after.at, after.at, after.id, rules.minValue, ...delays.map((delay) => iso(now - delay))],
		);
		for (const row of rows) {
			const cart = dueCart(row, rules, now);
			if (cart) due.push(cart);
			if (due.length >= rules.limit) break;
		}
		if (rows.length < DUE_PAGE) break;
		const last = rows[rows.length - 1];
		after = { at: last.last_activity, id: last.id };
	}
	return due;
}

/** The cart's due step for its owner, or nothing when the step is done or the owner opted out or is anonymous. */
function dueCart(row: CandidateRow, rules: AbandonmentRules, now: number): DueCart | undefined {
	const idle = now - Date.parse(row.last_activity);
	const step = rules.delaysMs.filter((delay) => idle >= delay).length;
	const restarted = row.progress_activity !== null && row.progress_activity < row.last_activity;
	const done = restarted ? 0 : Number(row.last_step ?? 0);
	if (step <= done) return undefined;
	const consent = parsed<Consent>(row.consent);
	if (rules.endOn.optOut && (Number(row.suppressed) === 1 || consent[rules.consentPurpose] === false)) return undefined;
	if (!rules.includeAnonymous && !row.email && !row.user_id) return undefined;
	return {
		cart: toCart(row),
		step,
		profile: { id: row.profile_id, userId: row.user_id, email: row.email, traits: parsed(row.traits), consent },
	};
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
