import { conversionKept, netRevenue } from '../attribution/report';
import type { SqlDriver } from './driver';
import { selectIn } from './sql';

/** An order as segments and the predictive models count it: kept, at what it still earns. */
export interface NetOrder {
	/** When it was placed, ms. */
	at: number;
	revenue: number;
}

/**
 * The orders of these people, oldest first, net of refunds and cancellations as the attribution
 * report counts them: a cancelled or fully refunded order is no order, a refund takes its money back.
 */
export async function netOrdersOf(db: SqlDriver, profileIds: string[]): Promise<Map<string, NetOrder[]>> {
	const rows = await selectIn<{ profile_id: string; occurred_at: string; revenue: number; refunded: number; status: string }>(
		db,
		'SELECT profile_id, occurred_at, revenue, refunded, status FROM rt_conversions WHERE profile_id IN (?*) ORDER BY occurred_at',
		profileIds,
	);
	const orders = new Map<string, NetOrder[]>();
	for (const row of rows) {
		const order = { revenue: Number(row.revenue), refunded: Number(row.refunded), status: row.status };
		if (!conversionKept(order)) continue;
		const list = orders.get(row.profile_id) ?? [];
		list.push({ at: Date.parse(row.occurred_at), revenue: netRevenue(order) });
		orders.set(row.profile_id, list);
	}
	return orders;
}

/**
 * Every person who ever placed an order, with their net orders, `pageSize` people at a time in
 * profile id order: the memory a page holds is bounded however many customers are stored.
 */
export async function* customerOrderPages(db: SqlDriver, pageSize = 2000): AsyncGenerator<Map<string, NetOrder[]>> {
	let after = '';
	for (;;) {
		const page = await db.all<{ profile_id: string }>('SELECT DISTINCT profile_id FROM rt_conversions WHERE profile_id > ? ORDER BY profile_id LIMIT ?', [after, pageSize]);
		if (page.length === 0) return;
		after = page[page.length - 1].profile_id;
		yield await netOrdersOf(db, page.map((r) => r.profile_id));
	}
}
