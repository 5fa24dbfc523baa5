import type { Consent } from '../events/model';
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

/** A profile row as the domain sees it (without its identity links). */
export interface ProfileFields {
	id: string;
	userId: string | null;
	email: string | null;
	traits: Record<string, unknown>;
	consent: Consent;
	suppressed: boolean;
	suppressedReason: string | null;
	firstSeen: string;
	lastSeen: string;
	eventCount: number;
	orderCount: number;
	revenue: number;
}

export function toProfileFields(row: ProfileRow): ProfileFields {
	return {
		id: row.id,
		userId: row.user_id,
		email: row.email,
		traits: parsed(row.traits),
		consent: parsed(row.consent),
		suppressed: Number(row.suppressed) === 1,
		suppressedReason: row.suppressed_reason,
		firstSeen: row.first_seen,
		lastSeen: row.last_seen,
		eventCount: Number(row.event_count),
		orderCount: Number(row.order_count),
		revenue: Number(row.revenue),
	};
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
