import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { INodeParameters } from 'n8n-workflow';

import { ProductCatalogue } from '../../nodes/ProductCatalogue/ProductCatalogue.node.ts';
import { productsBlock } from '../../nodes/shared/delivery/render.ts';
import { parseEvent, type TrackedEvent } from '../../nodes/shared/events/model.ts';
import { importProducts } from '../../nodes/shared/store/products.ts';
import { openEmbeddedStore } from '../../nodes/shared/store/open.ts';
import { runNode, runNodeTask } from '../harness/run-node.ts';

const HOUR = 3_600_000;

/** The Product Catalogue's recommendation operations run by n8n-core in-process, on the embedded store. */
describe('the Product Catalogue node, recommendations, run by n8n-core', () => {
	const dir = mkdtempSync(path.join(tmpdir(), 'rt-catalogue-node-'));
	process.env.RETARGETING_SQLITE_FILE = path.join(dir, 'store.sqlite');
	const start = Date.now() - 10 * HOUR;
	let sequence = 0;
	/** An event received `minutes` after the start (more than a minute ago, so a refresh now reads it). */
	const event = (minutes: number, raw: Record<string, unknown>): TrackedEvent => {
		const iso = new Date(start + minutes * 60_000).toISOString();
		const parsed = parseEvent({ messageId: `node-rec-${++sequence}`, timestamp: iso, type: 'track', ...raw });
		if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
		return { ...parsed.event, receivedAt: iso };
	};

	beforeAll(async () => {
		const store = await openEmbeddedStore();
		await importProducts(
			store.driver,
			['mug', 'teapot', 'tea', 'spoon'].map((id, i) => ({
				id,
				title: id[0].toUpperCase() + id.slice(1),
				description: null,
				link: `https://shop.example/${id}`,
				imageLink: `https://shop.example/${id}.jpg`,
				price: 10 + i,
				salePrice: null,
				currency: 'EUR',
				availability: 'in_stock',
				brand: null,
				googleProductCategory: null,
				productType: 'Kitchen',
				itemGroupId: null,
				customLabels: {},
			})),
			{ full: true, at: new Date(start) },
		);
		// Teapot and tea go together; mug with both; the spoon alone. Ada bought the tea.
		const viewed = (minutes: number, userId: string, product_id: string) => event(minutes, { event: 'Product Viewed', userId, properties: { product_id } });
		await store.appendEvents([
			viewed(1, 'bo', 'teapot'),
			viewed(2, 'bo', 'tea'),
			viewed(3, 'cy', 'teapot'),
			viewed(4, 'cy', 'tea'),
			viewed(5, 'cy', 'mug'),
			viewed(6, 'di', 'spoon'),
			viewed(7, 'ada', 'teapot'),
			event(8, { event: 'Order Completed', userId: 'ada', properties: { order_id: 'o-1', revenue: 12, products: [{ product_id: 'tea' }] } }),
		]);
	});

	afterAll(() => rmSync(dir, { recursive: true, force: true }));

	it('refreshes, then adds recommendations in the fields ESP Send renders, per item, with clear errors', async () => {
		const [[report]] = await runNode({ nodeType: new ProductCatalogue(), parameters: { resource: 'recommendation', operation: 'refresh' }, items: [{ json: {} }] });
		expect(report.json).toMatchObject({ events: 8, personProducts: 8 });

		const store = await openEmbeddedStore();
		const ada = (await store.findProfile({ userId: 'ada' }))!.id;
		const parameters: INodeParameters = { resource: 'recommendation', operation: 'addToItems', strategy: 'itemToItem', count: 3, recommendationOptions: { fillWithPopular: false } };
		const { outputs } = await runNodeTask({
			nodeType: new ProductCatalogue(),
			parameters,
			items: [
				{ json: { profileId: ada, properties: { product_id: 'teapot' } } },
				{ json: { properties: { product_id: 'teapot' } } },
				{ json: { profileId: ada } },
			],
			continueOnFail: true,
		});
		const [forAda, anonymous, noProduct] = outputs[0];
		// Neighbours of the teapot: tea (2/√(3·2)), mug (1/√(3·1)); Ada bought the tea, so only the mug.
		expect(forAda.json.recommendations).toEqual([
			{ productId: 'mug', name: 'Mug', url: 'https://shop.example/mug', imageUrl: 'https://shop.example/mug.jpg', price: 10, currency: 'EUR', strategy: 'itemToItem' },
		]);
		expect((anonymous.json.recommendations as Array<{ productId: string }>).map((p) => p.productId)).toEqual(['tea', 'mug']);
		expect(noProduct.json.error).toBe('Product IDs: the item names no product to start from');
		expect(outputs[0].map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);

		// ESP Send's {recommendations} table shows each name linked to its page, with its price.
		const block = productsBlock(anonymous.json.recommendations, 'EUR');
		expect(block.html).toContain('<a href="https://shop.example/tea">Tea</a>');
		expect(block.text).toContain('- Mug  €10.00  https://shop.example/mug');

		// For this person without a person field value: the item's error names the field.
		const person = await runNodeTask({ nodeType: new ProductCatalogue(), parameters: { resource: 'recommendation', operation: 'addToItems' }, items: [{ json: {} }], continueOnFail: true });
		expect(person.outputs[0][0].json.error).toBe('The item has no "profileId" to find the person by');
	});
});
