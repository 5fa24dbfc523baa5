/** Segment Spec calls. */
export const CALL_TYPES = ['track', 'identify', 'page', 'alias', 'group'] as const;
export type CallType = (typeof CALL_TYPES)[number];

/** Segment Spec e-commerce v2 event names (RudderStack and PostHog use the same). */
export const ECOMMERCE_EVENTS = [
	'Products Searched',
	'Product List Viewed',
	'Product List Filtered',
	'Promotion Viewed',
	'Promotion Clicked',
	'Product Clicked',
	'Product Viewed',
	'Product Added',
	'Product Removed',
	'Cart Viewed',
	'Checkout Started',
	'Checkout Step Viewed',
	'Checkout Step Completed',
	'Payment Info Entered',
	'Order Completed',
	'Order Updated',
	'Order Refunded',
	'Order Cancelled',
	'Coupon Entered',
	'Coupon Applied',
	'Coupon Denied',
	'Coupon Removed',
	'Product Added to Wishlist',
	'Product Removed from Wishlist',
	'Wishlist Product Added to Cart',
	'Product Shared',
	'Cart Shared',
	'Product Reviewed',
] as const;

const canonicalByKey = new Map<string, string>(ECOMMERCE_EVENTS.map((name) => [nameKey(name), name]));

function nameKey(name: string): string {
	return name.toLowerCase().replace(/[\s_-]+/g, ' ').trim();
}

/**
 * The spec spelling of a track event name written another way ("order_completed",
 * "order completed"), so that flows selecting "Order Completed" see it; other names are custom
 * events and stay as sent.
 */
export function canonicalEventName(name: string): string {
	return canonicalByKey.get(nameKey(name)) ?? name.trim();
}

export function isSpecEvent(name: string): boolean {
	return canonicalByKey.has(nameKey(name));
}
