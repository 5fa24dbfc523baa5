import { eventProductOf } from '../catalogue/product';
import type { TrackedEvent } from '../events/model';

export interface CartItem {
	productId: string;
	name?: string;
	price: number;
	quantity: number;
	url?: string;
	imageUrl?: string;
}

export type CartStatus = 'open' | 'emptied' | 'converted';

export interface Cart {
	id: string;
	profileId: string;
	items: CartItem[];
	value: number;
	currency: string | null;
	status: CartStatus;
	openedAt: string;
	lastActivity: string;
	convertedAt: string | null;
	orderId: string | null;
	/** When the person last started checkout with this cart. */
	checkoutAt: string | null;
}

/** The events that change a cart's content, and the one that closes it. */
export const CART_EVENTS = ['Product Added', 'Product Removed', 'Cart Viewed', 'Checkout Started'] as const;
export const ORDER_EVENT = 'Order Completed';
/** Events that take an order's revenue back: a refund (all of it, or its `total`), a cancellation (all of it). */
export const ORDER_REFUNDED = 'Order Refunded';
export const ORDER_CANCELLED = 'Order Cancelled';

/** An order's revenue as Segment's spec names it: revenue, else total, else value. */
export function orderRevenue(properties: Record<string, unknown>): number | undefined {
	const revenue = properties.revenue ?? properties.total ?? properties.value;
	return typeof revenue === 'number' ? revenue : undefined;
}

type RawProduct = Record<string, unknown>;

function toItem(p: RawProduct, quantity?: number): CartItem | undefined {
	const product = eventProductOf(p);
	if (!product) return undefined;
	return {
		productId: product.id,
		...(product.title !== undefined ? { name: product.title } : {}),
		price: product.price ?? 0,
		quantity: quantity ?? (typeof p.quantity === 'number' ? p.quantity : 1),
		...(product.link !== undefined ? { url: product.link } : {}),
		...(product.imageLink !== undefined ? { imageUrl: product.imageLink } : {}),
	};
}

function cartValue(items: CartItem[]): number {
	return Math.round(items.reduce((sum, item) => sum + item.price * item.quantity, 0) * 100) / 100;
}

/**
 * A cart after one cart event: Product Added and Product Removed change one line; Cart Viewed and
 * Checkout Started carry the whole cart (`products`) and replace the lines when they do.
 */
export function applyCartEvent(cart: Cart, event: TrackedEvent): Cart {
	const props = event.properties;
	let items = cart.items.map((item) => ({ ...item }));
	if (event.event === 'Product Added' || event.event === 'Product Removed') {
		const item = toItem(props);
		if (item) {
			const existing = items.find((i) => i.productId === item.productId);
			const delta = event.event === 'Product Added' ? item.quantity : -item.quantity;
			if (existing) {
				existing.quantity += delta;
				if (event.event === 'Product Added') Object.assign(existing, { ...item, quantity: existing.quantity });
			} else if (delta > 0) {
				items.push(item);
			}
			items = items.filter((i) => i.quantity > 0);
		}
	} else if (Array.isArray(props.products)) {
		items = (props.products as RawProduct[]).map((p) => toItem(p)).filter((i): i is CartItem => !!i);
	}
	const value = cartValue(items);
	// Steps are timed from the last activity: a clock ahead of the server must not postpone them.
	const at = event.timestamp < event.receivedAt ? event.timestamp : event.receivedAt;
	return {
		...cart,
		items,
		value: items.length === 0 ? 0 : value,
		currency: typeof props.currency === 'string' ? props.currency.toUpperCase() : cart.currency,
		status: items.length === 0 ? 'emptied' : 'open',
		lastActivity: at > cart.lastActivity ? at : cart.lastActivity,
		checkoutAt: event.event === 'Checkout Started' ? at : cart.checkoutAt,
	};
}

export function newCart(id: string, profileId: string, at: string): Cart {
	return {
		id,
		profileId,
		items: [],
		value: 0,
		currency: null,
		status: 'open',
		openedAt: at,
		lastActivity: at,
		convertedAt: null,
		orderId: null,
		checkoutAt: null,
	};
}
