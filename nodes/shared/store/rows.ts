import type { Cart } from './carts';
import { json, parsed } from './sql';
import type { SqlValue } from './driver';

/** Row shapes of the store's tables, and their conversion to the domain types. */
export interface ProfileRow {
	id: string;
	user_id: string | null;
	email: string | null;
	traits: unknown;
	consent: unknown;
	suppressed: number;
	suppressed_reason: string | null;
	first_seen: string;
	last_seen: string;
	event_count: number;
	order_count: number;
	revenue: number;
}

export interface CartRow {
	id: string;
	profile_id: string;
	items: unknown;
	value: number;
	currency: string | null;
	status: Cart['status'];
	opened_at: string;
	last_activity: string;
	converted_at: string | null;
	order_id: string | null;
	checkout_at: string | null;
}

export function toCart(row: CartRow): Cart {
	return {
		id: row.id,
		profileId: row.profile_id,
		items: parsed(row.items),
		value: Number(row.value),
		currency: row.currency,
		status: row.status,
		openedAt: row.opened_at,
		lastActivity: row.last_activity,
		convertedAt: row.converted_at,
		orderId: row.order_id,
		checkoutAt: row.checkout_at,
	};
}

export const CART_COLUMNS =
	'id, profile_id, items, value, currency, status, opened_at, last_activity, converted_at, order_id, checkout_at';

/** A cart as the values of CART_COLUMNS. */
export function cartValues(cart: Cart): SqlValue[] {
	return [
		cart.id,
		cart.profileId,
		json(cart.items),
		cart.value,
		cart.currency,
		cart.status,
		cart.openedAt,
		cart.lastActivity,
		cart.convertedAt,
		cart.orderId,
		cart.checkoutAt,
	];
}
