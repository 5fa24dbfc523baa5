import { readFileSync } from 'node:fs';
import path from 'node:path';

import { FeedReader, feedText } from '../../nodes/shared/catalogue/feed.ts';
import type { Product } from '../../nodes/shared/catalogue/product.ts';
import { parseEvent, type TrackedEvent } from '../../nodes/shared/events/model.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

const FIRST_IMPORT = new Date('2026-03-01T00:00:00.000Z');
const SECOND_IMPORT = new Date('2026-03-02T00:00:00.000Z');

function product(id: string, changes: Partial<Product> = {}): Product {
	return {
		id,
		title: `Product ${id}`,
		description: null,
		link: `https://shop.test/p/${id}`,
		imageLink: `https://shop.test/i/${id}.jpg`,
		price: 10,
		salePrice: null,
		currency: 'EUR',
		availability: 'in_stock',
		brand: null,
		googleProductCategory: null,
		productType: null,
		itemGroupId: null,
		customLabels: {},
		...changes,
	};
}

let sequence = 0;

function event(raw: Record<string, unknown>): TrackedEvent {
	const parsed = parseEvent({ messageId: `prod-${++sequence}`, type: 'track', anonymousId: 'visitor-1', ...raw });
	if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
	return parsed.event;
}

describe.each(BACKENDS)('the product catalogue on %s', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let store: RetargetingStore;

	beforeEach(async () => {
		fixture = makeFixture();
		store = await fixture.open();
		await store.migrate();
	});

	afterEach(async () => await fixture.dispose());

	it('imports a feed fixture, and a second import of it changes nothing', async () => {
		const reader = new FeedReader(await feedText(readFileSync(path.resolve(__dirname, '../fixtures/feeds/products.xml')), 1e7), 'auto');
		const products = [...reader.products()];
		expect(await store.importProducts(products, { full: true, at: FIRST_IMPORT })).toEqual({ inserted: 4, updated: 0, unchanged: 0, markedUnavailable: 0 });
		const stored = await store.productsByIds(['shirt-1', 'mug-1', 'unknown']);
		expect([...stored.keys()].sort()).toEqual(['mug-1', 'shirt-1']);
		expect(stored.get('shirt-1')).toEqual({
			...products[0],
			source: 'feed',
			feedSeenAt: FIRST_IMPORT.toISOString(),
			missingSince: null,
			createdAt: FIRST_IMPORT.toISOString(),
			updatedAt: FIRST_IMPORT.toISOString(),
		});
		expect(await store.importProducts(products, { full: true, at: SECOND_IMPORT })).toEqual({ inserted: 0, updated: 0, unchanged: 4, markedUnavailable: 0 });
		expect((await store.productsByIds(['shirt-1'])).get('shirt-1')).toMatchObject({ feedSeenAt: SECOND_IMPORT.toISOString(), updatedAt: FIRST_IMPORT.toISOString() });
	});

	it('upserts by id: a changed product takes the feed\'s fields, a cleared sale price is cleared', async () => {
		await store.importProducts([product('a', { salePrice: 8 }), product('b')], { full: false, at: FIRST_IMPORT });
		const counts = await store.importProducts([product('a', { price: 12, title: 'Renamed' }), product('c')], { full: false, at: SECOND_IMPORT });
		expect(counts).toEqual({ inserted: 1, updated: 1, unchanged: 0, markedUnavailable: 0 });
		const stored = await store.productsByIds(['a', 'b', 'c']);
		expect(stored.get('a')).toMatchObject({ title: 'Renamed', price: 12, salePrice: null, createdAt: FIRST_IMPORT.toISOString(), updatedAt: SECOND_IMPORT.toISOString() });
		// A partial feed leaves the products it does not list alone.
		expect(stored.get('b')).toMatchObject({ availability: 'in_stock', missingSince: null, feedSeenAt: FIRST_IMPORT.toISOString() });
	});

	it('a full import marks the products of an earlier feed it no longer lists as out of stock, and a product back in the feed returns', async () => {
		await store.importProducts([product('a'), product('b'), product('c', { availability: 'out_of_stock' })], { full: true, at: FIRST_IMPORT });
		await store.appendEvents([event({ event: 'Product Viewed', properties: { product_id: 'seen-only', name: 'From events' } })]);
		expect(await store.importProducts([product('a')], { full: true, at: SECOND_IMPORT })).toEqual({ inserted: 0, updated: 0, unchanged: 1, markedUnavailable: 2 });
		const gone = await store.productsByIds(['a', 'b', 'c', 'seen-only']);
		expect(gone.get('a')).toMatchObject({ availability: 'in_stock', missingSince: null });
		expect(gone.get('b')).toMatchObject({ availability: 'out_of_stock', missingSince: SECOND_IMPORT.toISOString() });
		// Products learnt from events are no feed's to withdraw.
		expect(gone.get('seen-only')).toMatchObject({ source: 'events', missingSince: null });
		const third = new Date('2026-03-03T00:00:00.000Z');
		// c was out of stock all along: its return is still a change.
		const back = [product('a'), product('b'), product('c', { availability: 'out_of_stock' })];
		expect(await store.importProducts(back, { full: true, at: third })).toEqual({ inserted: 0, updated: 2, unchanged: 1, markedUnavailable: 0 });
		const returned = await store.productsByIds(['b', 'c']);
		expect(returned.get('b')).toMatchObject({ availability: 'in_stock', missingSince: null });
		expect(returned.get('c')).toMatchObject({ availability: 'out_of_stock', missingSince: null });
	});

	it('a full import of no product marks nothing', async () => {
		await store.importProducts([product('a')], { full: true, at: FIRST_IMPORT });
		expect(await store.importProducts([], { full: true, at: SECOND_IMPORT })).toEqual({ inserted: 0, updated: 0, unchanged: 0, markedUnavailable: 0 });
		expect((await store.productsByIds(['a'])).get('a')).toMatchObject({ availability: 'in_stock' });
	});

	it('imports in batches: a feed of 2,500 products', async () => {
		const many = Array.from({ length: 2500 }, (_, i) => product(`p-${i}`));
		expect(await store.importProducts(many, { full: true, at: FIRST_IMPORT })).toMatchObject({ inserted: 2500 });
		expect((await store.productsByIds(many.map((p) => p.id))).size).toBe(2500);
	});

	it('learns products from e-commerce events: creates unknown ones, fills in what later events say, never overwrites a feed product', async () => {
		await store.importProducts([product('feed-1', { title: 'Feed title', price: 30 })], { full: true, at: FIRST_IMPORT });
		await store.appendEvents([
			event({ event: 'Product Viewed', properties: { product_id: 'ev-1', name: 'Mug', price: 9.5, currency: 'eur', category: 'Kitchen' } }),
			event({ event: 'Product Viewed', properties: { product_id: 'feed-1', name: 'Event title', price: 1, image_url: 'https://x.test/1.jpg' } }),
			event({ event: 'Order Completed', properties: { order_id: 'o-1', products: [{ sku: 'ev-2', name: 'Teapot', price: 25 }] } }),
			event({ event: 'My Custom Event', properties: { product_id: 'custom-1', name: 'Not e-commerce' } }),
		]);
		await store.appendEvents([event({ event: 'Product Added', properties: { product_id: 'ev-1', image_url: 'https://shop.test/i/mug.jpg', url: 'https://shop.test/p/mug' } })]);
		const stored = await store.productsByIds(['ev-1', 'ev-2', 'feed-1', 'custom-1']);
		expect(stored.get('ev-1')).toMatchObject({
			source: 'events',
			title: 'Mug',
			price: 9.5,
			currency: 'EUR',
			productType: 'Kitchen',
			imageLink: 'https://shop.test/i/mug.jpg',
			link: 'https://shop.test/p/mug',
			availability: null,
		});
		expect(stored.get('ev-2')).toMatchObject({ source: 'events', title: 'Teapot', price: 25 });
		expect(stored.get('feed-1')).toMatchObject({ source: 'feed', title: 'Feed title', price: 30, imageLink: 'https://shop.test/i/feed-1.jpg' });
		expect(stored.has('custom-1')).toBe(false);
		// A feed then takes over a product learnt from events.
		expect(await store.importProducts([product('ev-1', { title: 'Stoneware mug' })], { full: false, at: SECOND_IMPORT })).toMatchObject({ updated: 1 });
		await store.appendEvents([event({ event: 'Product Viewed', properties: { product_id: 'ev-1', name: 'Old name' } })]);
		expect((await store.productsByIds(['ev-1'])).get('ev-1')).toMatchObject({ source: 'feed', title: 'Stoneware mug' });
	});

	it('the latest event of a batch wins, and an event that says nothing new leaves the product as it was', async () => {
		await store.appendEvents([
			event({ event: 'Product Viewed', properties: { product_id: 'p', name: 'First', price: 5 } }),
			event({ event: 'Product Viewed', properties: { product_id: 'p', name: 'Second' } }),
		]);
		const first = (await store.productsByIds(['p'])).get('p');
		expect(first).toMatchObject({ title: 'Second', price: 5 });
		const later = { ...event({ event: 'Product Viewed', properties: { product_id: 'p', name: 'Second', price: 5 } }), receivedAt: '2099-01-01T00:00:00.000Z' };
		await store.appendEvents([later]);
		expect((await store.productsByIds(['p'])).get('p')?.updatedAt).toBe(first?.updatedAt);
		await store.appendEvents([{ ...later, messageId: 'prod-renamed', properties: { product_id: 'p', name: 'Third' } }]);
		expect((await store.productsByIds(['p'])).get('p')).toMatchObject({ title: 'Third', updatedAt: '2099-01-01T00:00:00.000Z' });
	});

	it('erasing a person leaves the products their events taught', async () => {
		await store.appendEvents([event({ event: 'Product Viewed', anonymousId: 'erase-me', properties: { product_id: 'p-erase', name: 'Lamp' } })]);
		expect(await store.eraseProfile({ anonymousId: 'erase-me' })).toBeDefined();
		expect(await store.findProfile({ anonymousId: 'erase-me' })).toBeUndefined();
		expect((await store.productsByIds(['p-erase'])).get('p-erase')).toMatchObject({ title: 'Lamp', source: 'events' });
	});
});
