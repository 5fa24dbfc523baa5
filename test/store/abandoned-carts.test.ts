import { parseEvent, type TrackedEvent } from '../../nodes/shared/events/model.ts';
import { claimCarts } from '../../nodes/shared/store/abandonment.ts';
import type { AbandonmentRules, RetargetingStore } from '../../nodes/shared/store/store.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

const HOUR = 3_600_000;
const T = Date.parse('2026-11-02T08:00:00.000Z');
let sequence = 0;

function at(ms: number, raw: Record<string, unknown>): TrackedEvent {
	const result = parseEvent({ messageId: `ac-${++sequence}`, timestamp: new Date(ms).toISOString(), ...raw });
	if (!result.ok) throw new Error(JSON.stringify(result.errors));
	return result.event;
}

const rules = (changes: Partial<AbandonmentRules> = {}): AbandonmentRules => ({
	triggerKey: 'wf-1:node-1',
	delaysMs: [1 * HOUR, 24 * HOUR, 72 * HOUR],
	checkoutOnly: false,
	minValue: 0,
	includeAnonymous: false,
	consentPurpose: 'email',
	endOn: { order: true, emptied: true, optOut: true },
	lookbackMs: 7 * 24 * HOUR,
	limit: 1000,
	...changes,
});

describe.each(BACKENDS)('abandoned carts on %s', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let store: RetargetingStore;

	beforeEach(async () => {
		fixture = makeFixture();
		store = await fixture.open();
		await store.migrate();
	});

	afterEach(async () => {
		await fixture.dispose();
	});

	/** A known person (with an email) who puts a product in cart `cartId` at `ms`. */
	const shopper = async (who: string, cartId: string, ms: number, extra: Record<string, unknown> = {}) => {
		await store.appendEvents([
			at(ms - 60_000, { type: 'identify', anonymousId: who, traits: { email: `${who}@example.com` }, ...extra }),
			at(ms, { type: 'track', event: 'Product Added', anonymousId: who, properties: { cart_id: cartId, product_id: 'p1', price: 30, currency: 'EUR' } }),
		]);
	};
	const claimed = async (ms: number, changes: Partial<AbandonmentRules> = {}) =>
		(await store.claimDueCarts(rules(changes), ms)).map((d) => `${d.cart.id}:${d.step}`);

	it('emits each step once, when its delay has passed since the last activity', async () => {
		await shopper('ada', 'c-ada', T);
		expect(await claimed(T + 0.5 * HOUR)).toEqual([]);
		expect(await claimed(T + 1 * HOUR)).toEqual(['c-ada:1']);
		expect(await claimed(T + 1.1 * HOUR)).toEqual([]);
		expect(await claimed(T + 24 * HOUR)).toEqual(['c-ada:2']);
		expect(await claimed(T + 72 * HOUR)).toEqual(['c-ada:3']);
		expect(await claimed(T + 100 * HOUR)).toEqual([]);
	});

	it('gives the cart, the step and the profile a message needs', async () => {
		await shopper('bob', 'c-bob', T);
		const [due] = await store.claimDueCarts(rules(), T + 2 * HOUR);
		expect(due).toMatchObject({
			step: 1,
			cart: { id: 'c-bob', value: 30, currency: 'EUR', status: 'open', items: [{ productId: 'p1', price: 30, quantity: 1 }] },
			profile: { email: 'bob@example.com', traits: { email: 'bob@example.com' } },
		});
	});

	it('jumps to the latest due step when polls were missed, and skips the earlier ones', async () => {
		await shopper('cy', 'c-cy', T);
		expect(await claimed(T + 30 * HOUR)).toEqual(['c-cy:2']);
		expect(await claimed(T + 31 * HOUR)).toEqual([]);
		expect(await claimed(T + 73 * HOUR)).toEqual(['c-cy:3']);
	});

	it('ends the sequence on an order, an emptied cart, a withdrawn consent or a suppression', async () => {
		for (const who of ['buyer', 'emptier', 'optout', 'suppressed', 'kept']) await shopper(who, `c-${who}`, T);
		await store.appendEvents([
			at(T + 10 * 60_000, { type: 'track', event: 'Order Completed', anonymousId: 'buyer', properties: { order_id: 'o-1', cart_id: 'c-buyer' } }),
			at(T + 10 * 60_000, { type: 'track', event: 'Product Removed', anonymousId: 'emptier', properties: { cart_id: 'c-emptier', product_id: 'p1' } }),
			at(T - 30_000, { type: 'identify', anonymousId: 'optout', context: { consent: { email: false } } }),
		]);
		await store.setSuppressed({ anonymousId: 'suppressed' }, true, 'complaint');
		expect(await claimed(T + 2 * HOUR)).toEqual(['c-kept:1']);
		// Each ending can be turned off.
		const none = { order: false, emptied: false, optOut: false };
		expect((await claimed(T + 2 * HOUR, { triggerKey: 'all', endOn: none })).sort()).toEqual(
			['c-buyer:1', 'c-emptier:1', 'c-kept:1', 'c-optout:1', 'c-suppressed:1'],
		);
	});

	it('follows only known people, carts over the minimum value or at checkout, when told so', async () => {
		await store.appendEvents([
			at(T, { type: 'track', event: 'Product Added', anonymousId: 'nobody', properties: { cart_id: 'c-anon', product_id: 'p1', price: 30 } }),
		]);
		await shopper('cheap', 'c-cheap', T);
		await store.appendEvents([
			at(T + 60_000, { type: 'track', event: 'Checkout Started', anonymousId: 'cheap', properties: { cart_id: 'c-cheap', products: [{ product_id: 'p1', price: 5 }] } }),
		]);
		await shopper('big', 'c-big', T);
		const at2h = T + 2 * HOUR;
		expect((await claimed(at2h, { triggerKey: 'a' })).sort()).toEqual(['c-big:1', 'c-cheap:1']);
		expect((await claimed(at2h, { triggerKey: 'b', includeAnonymous: true })).sort()).toEqual(['c-anon:1', 'c-big:1', 'c-cheap:1']);
		expect(await claimed(at2h, { triggerKey: 'c', minValue: 10 })).toEqual(['c-big:1']);
		expect(await claimed(at2h, { triggerKey: 'd', checkoutOnly: true })).toEqual(['c-cheap:1']);
	});

	it('lets each trigger follow every cart on its own', async () => {
		await shopper('dee', 'c-dee', T);
		expect(await claimed(T + 2 * HOUR, { triggerKey: 'email-flow' })).toEqual(['c-dee:1']);
		expect(await claimed(T + 2 * HOUR, { triggerKey: 'banner-flow' })).toEqual(['c-dee:1']);
	});

	it('starts the sequence again when the person comes back to the cart', async () => {
		await shopper('eve', 'c-eve', T);
		expect(await claimed(T + 2 * HOUR)).toEqual(['c-eve:1']);
		await store.appendEvents([
			at(T + 3 * HOUR, { type: 'track', event: 'Product Added', anonymousId: 'eve', properties: { cart_id: 'c-eve', product_id: 'p2', price: 10 } }),
		]);
		expect(await claimed(T + 3.5 * HOUR)).toEqual([]);
		expect(await claimed(T + 4 * HOUR)).toEqual(['c-eve:1']);
	});

	it('stops following a cart idle for longer than the last delay plus the look-back', async () => {
		await shopper('old', 'c-old', T);
		expect(await claimed(T + 72 * HOUR + 8 * 24 * HOUR)).toEqual([]);
	});

	it('reads due carts a page at a time, oldest first, up to the limit, and never again once handled', async () => {
		// 2,500 carts, two at each second, so that pages (1,000 rows) end between carts of the same time.
		const events = Array.from({ length: 2_500 }, (_, i) => {
			const who = `s-${String(i).padStart(4, '0')}`;
			const ms = T + Math.floor(i / 2) * 1000;
			return [
				at(ms - 60_000, { type: 'identify', anonymousId: who, traits: { email: `${who}@example.com` } }),
				at(ms, { type: 'track', event: 'Product Added', anonymousId: who, properties: { cart_id: `c-${who}`, product_id: 'p1', price: 30 } }),
			];
		});
		await store.appendEvents(events.flat());
		const all = Array.from({ length: 2_500 }, (_, i) => `c-s-${String(i).padStart(4, '0')}:1`);
		const first = await claimed(T + 2 * HOUR, { limit: 1_200 });
		expect(first).toEqual(all.slice(0, 1_200));
		expect(await claimed(T + 2 * HOUR, { limit: 5_000 })).toEqual(all.slice(1_200));
		expect(await store.dueCarts(rules(), T + 2 * HOUR)).toEqual([]);
	}, 60_000);

	it('claims from the cart as it is at claim time: a cart that changed, ended or was erased since the read is not claimed', async () => {
		await shopper('late', 'c-late', T);
		expect(await claimed(T + 30 * HOUR)).toEqual(['c-late:2']);
		const stale = await store.dueCarts(rules(), T + 73 * HOUR);
		expect(stale.map((d) => d.step)).toEqual([3]);
		// The person comes back before the slow poller claims its step 3.
		await store.appendEvents([
			at(T + 72.5 * HOUR, { type: 'track', event: 'Product Added', anonymousId: 'late', properties: { cart_id: 'c-late', product_id: 'p2', price: 5 } }),
		]);
		expect(await claimed(T + 74 * HOUR)).toEqual(['c-late:1']);
		expect(await claimCarts(store.driver, rules(), stale, T + 74 * HOUR)).toEqual([]);
		expect(await claimed(T + 75 * HOUR)).toEqual([]);

		await shopper('gone', 'c-gone', T);
		await shopper('paid', 'c-paid', T);
		const read = await store.dueCarts(rules(), T + 2 * HOUR);
		await store.eraseProfile({ anonymousId: 'gone' });
		await store.appendEvents([at(T + HOUR, { type: 'track', event: 'Order Completed', anonymousId: 'paid', properties: { order_id: 'o-paid', cart_id: 'c-paid' } })]);
		expect(await claimCarts(store.driver, rules(), read, T + 2 * HOUR)).toEqual([]);
		const [{ n }] = await store.driver.all<{ n: number }>("SELECT COUNT(*) AS n FROM rt_cart_progress WHERE cart_id IN ('c-gone', 'c-paid')");
		expect(Number(n)).toBe(0);
	});

	it('never gives one cart step to two pollers racing for it', async () => {
		for (let i = 0; i < 40; i++) await shopper(`r${i}`, `c-r${i}`, T);
		const other = await fixture.open();
		const now = T + 2 * HOUR;
		const [a, b, c] = await Promise.all([
			store.claimDueCarts(rules(), now),
			other.claimDueCarts(rules(), now),
			other.claimDueCarts(rules(), now),
		]);
		const all = [...a, ...b, ...c].map((d) => d.cart.id);
		expect(all).toHaveLength(40);
		expect(new Set(all).size).toBe(40);
	});
});
