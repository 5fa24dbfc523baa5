import { dueCartItem, parseDelays, recoveryUrl } from '../../nodes/AbandonedCartTrigger/sequence.ts';
import type { DueCart } from '../../nodes/shared/store/abandonment.ts';

const due: DueCart = {
	step: 2,
	cart: {
		id: 'cart 7/1',
		profileId: 'p-1',
		items: [{ productId: 'sku-1', price: 10, quantity: 2 }],
		value: 20,
		currency: 'EUR',
		status: 'open',
		openedAt: '2026-11-01T10:00:00.000Z',
		lastActivity: '2026-11-01T10:05:00.000Z',
		convertedAt: null,
		orderId: null,
		checkoutAt: null,
	},
	profile: { id: 'p-1', userId: 'u-1', email: 'ada@example.com', traits: { first_name: 'Ada' }, consent: { email: true } },
};

describe('abandoned-cart steps', () => {
	it('reads delays in seconds, minutes, hours and days', () => {
		expect(parseDelays('1h, 24h, 72h')).toEqual({ ok: true, delaysMs: [3_600_000, 86_400_000, 259_200_000] });
		expect(parseDelays('30s,15m , 1.5d')).toEqual({ ok: true, delaysMs: [30_000, 900_000, 129_600_000] });
	});

	it('says what is wrong with a delay list', () => {
		expect(parseDelays('')).toEqual({ ok: false, reason: 'give at least one delay, such as 1h' });
		expect(parseDelays('1h, two days')).toEqual({ ok: false, reason: '"two days" is not a delay such as 30m, 1h or 3d' });
		expect(parseDelays('24h, 1h')).toEqual({ ok: false, reason: 'each delay must be longer than the one before it' });
		expect(parseDelays('0s')).toMatchObject({ ok: false });
	});

	it('fills the recovery link, URL-encoded', () => {
		expect(recoveryUrl('https://shop.test/restore?cart={cart_id}&p={profile_id}&s={step}', due)).toBe(
			'https://shop.test/restore?cart=cart%207%2F1&p=p-1&s=2',
		);
	});

	it('makes one item with the cart, the step and the person', () => {
		expect(dueCartItem(due, 3, '')).toEqual({
			cartId: 'cart 7/1',
			profileId: 'p-1',
			step: 2,
			steps: 3,
			items: due.cart.items,
			value: 20,
			currency: 'EUR',
			openedAt: due.cart.openedAt,
			lastActivity: due.cart.lastActivity,
			checkoutAt: null,
			profile: due.profile,
		});
	});
});
