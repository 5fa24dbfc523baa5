import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, NodeOperationError } from 'n8n-workflow';

import { offThread } from '../../../shared/offthread/run';
import { type PersonKind, personOfItem, personProperties } from '../../../shared/parameters/personParameters';
import type { Kind } from '../../../shared/recommendations/cooccurrence';
import type { RecommendationSettings, Signal, Strategy } from '../../../shared/recommendations/rank';
import { resolveProfileIds } from '../../../shared/store/identity';
import { MAX_WINDOW_DAYS, type RecommendationRequest } from '../../../shared/store/recommendations';
import type { RetargetingStore } from '../../../shared/store/store';

const show = (extra: Record<string, string[]> = {}) => ({ show: { resource: ['recommendation'], operation: ['addToItems'], ...extra } });

/** Braze's recommendations give at most 30 products too; an email shows far fewer. */
const MAX_COUNT = 30;

export const description: INodeProperties[] = [
	{
		displayName: 'Strategy',
		name: 'strategy',
		type: 'options',
		options: [
			{ name: 'Bought or Viewed Together', value: 'itemToItem', description: 'Products that people who viewed or bought the item\'s products also viewed or bought' },
			{
				name: 'For This Person',
				value: 'forThisPerson',
				description: 'Products like the ones the person viewed, put in a cart or bought lately (the latest count most); popular products for someone new',
			},
			{ name: 'Popular', value: 'popular', description: 'The products bought most over the last 90 days' },
			{ name: 'Recently Viewed', value: 'recentlyViewed', description: 'The products the person viewed, the latest first' },
			{ name: 'Trending', value: 'trending', description: 'The products viewed or bought much more in the last days than in the weeks before' },
		],
		default: 'forThisPerson',
		displayOptions: show(),
		description:
			'How the products are chosen. Whatever the strategy, a person never gets a product they bought or have in their cart, nor one out of stock, gone from the feed or without an image.',
	},
	...personProperties.map((property) => ({
		...property,
		required: false,
		displayOptions: show(),
		...(property.name === 'personField'
			? { description: 'The item field holding that ID; a dot reaches inside an object, such as customer.email. Empty: no person (Bought or Viewed Together, Popular and Trending only).' }
			: {}),
	})),
	{
		displayName: 'Product IDs',
		name: 'productIds',
		type: 'string',
		default: '={{ $json.properties?.product_id ?? $json.properties?.products?.map(p => p.product_id) ?? $json.items?.map(i => i.productId) ?? "" }}',
		displayOptions: show({ strategy: ['itemToItem', 'forThisPerson'] }),
		description:
			'The products to start from, as the feed\'s IDs: one, a list, or several separated by commas. By default the tracked event\'s product or order, or the abandoned cart\'s products. They are never recommended themselves.',
	},
	{
		displayName: 'Number of Products',
		name: 'count',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: MAX_COUNT },
		default: 4,
		displayOptions: show(),
		description: 'How many products to add at most (fewer when not enough qualify)',
	},
	{
		displayName: 'Options',
		name: 'recommendationOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(),
		options: [
			{
				displayName: 'Category',
				name: 'category',
				type: 'string',
				default: '',
				placeholder: 'Apparel > Shoes',
				description: 'Only products of this category or below it, as the feed\'s product_type or google_product_category names it (case does not matter)',
			},
			{
				displayName: 'Fill With Popular Products',
				name: 'fillWithPopular',
				type: 'boolean',
				default: true,
				description: 'Whether popular products fill the list when the strategy finds too few, for example for someone with no history yet',
			},
			{
				displayName: 'Popular From',
				name: 'popularFrom',
				type: 'options',
				options: [
					{ name: 'Purchases', value: 'bought' },
					{ name: 'Views', value: 'viewed' },
				],
				default: 'bought',
				description: 'What makes a product popular or trending',
			},
			{
				displayName: 'Popular Over (Days)',
				name: 'popularDays',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: MAX_WINDOW_DAYS },
				default: 90,
				description: 'Popular products are the most bought (or viewed) over this many days',
			},
			{
				displayName: 'Put Into Field',
				name: 'field',
				type: 'string',
				default: 'recommendations',
				description: 'The item field that gets the products; ESP Send shows the field recommendations as {recommendations}',
			},
			{
				displayName: 'Together Means',
				name: 'signal',
				type: 'options',
				options: [
					{ name: 'Bought or Viewed Together', value: 'both', description: 'Both count; bought together twice as much' },
					{ name: 'Viewed Together', value: 'viewed', description: 'Viewed by the same people: products alike, alternatives' },
					{ name: 'Bought Together', value: 'bought', description: 'Bought by the same people: products that go together, cross-sell' },
				],
				default: 'both',
				description: 'For This Person and Bought or Viewed Together: which products count as alike',
			},
			{
				displayName: 'Trending Baseline (Days)',
				name: 'baselineDays',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: MAX_WINDOW_DAYS },
				default: 28,
				description: 'Trending compares the recent days with this many days before them',
			},
			{
				displayName: 'Trending Over (Days)',
				name: 'trendingDays',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: MAX_WINDOW_DAYS },
				default: 7,
				description: 'The recent days in which trending products are viewed (or bought) more than before',
			},
		],
	},
];

/** Product IDs from a parameter: one, a list, or a comma-separated text. */
function productIdsOf(value: unknown): string[] {
	const values = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : value === undefined || value === null ? [] : [value];
	return [...new Set(values.filter((v) => typeof v === 'string' || typeof v === 'number').map((v) => String(v).trim()).filter(Boolean))];
}

/** An item's settings, or an error naming the parameter to fix. */
function settingsOf(ctx: IExecuteFunctions, i: number): RecommendationSettings & { field: string } {
	const options = ctx.getNodeParameter('recommendationOptions', i, {}) as IDataObject;
	const count = Number(ctx.getNodeParameter('count', i, 4));
	if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
		throw new NodeOperationError(ctx.getNode(), `Number of Products: "${String(count)}" is not a whole number from 1 to ${MAX_COUNT}`, { itemIndex: i });
	}
	const days = (name: string, label: string, fallback: number) => {
		const value = Number(options[name] ?? fallback);
		if (!Number.isFinite(value) || value < 1 || value > MAX_WINDOW_DAYS) {
			throw new NodeOperationError(ctx.getNode(), `Options → ${label}: "${String(options[name])}" is not a number of days from 1 to ${MAX_WINDOW_DAYS}`, { itemIndex: i });
		}
		return value;
	};
	const field = String(options.field ?? 'recommendations').trim();
	if (!field) throw new NodeOperationError(ctx.getNode(), 'Options → Put Into Field: must not be empty', { itemIndex: i });
	return {
		strategy: ctx.getNodeParameter('strategy', i, 'forThisPerson') as Strategy,
		signal: (options.signal ?? 'both') as Signal,
		count,
		category: String(options.category ?? '').trim() || undefined,
		popularFrom: (options.popularFrom ?? 'bought') as Kind,
		popularDays: days('popularDays', 'Popular Over (Days)', 90),
		trendingDays: days('trendingDays', 'Trending Over (Days)', 7),
		baselineDays: days('baselineDays', 'Trending Baseline (Days)', 28),
		fillWithPopular: options.fillWithPopular !== false,
		field,
	};
}

/**
 * Adds each item's recommended products to it. Items are answered together, per set of settings,
 * in a worker thread: reading the people, their neighbours and the products is one pass for all.
 */
export async function execute(this: IExecuteFunctions, store: RetargetingStore, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const kind = this.getNodeParameter('personIdKind', 0, 'profileId') as PersonKind;
	const personField = String(this.getNodeParameter('personField', 0, 'profileId') ?? '').trim();
	const persons = items.map((item) => (personField ? personOfItem(item.json, kind, personField) : undefined));
	const profileIds = await resolveProfileIds(store.driver, persons);
	const output: INodeExecutionData[] = new Array(items.length);
	const groups = new Map<string, { settings: RecommendationSettings & { field: string }; indexes: number[]; requests: RecommendationRequest[] }>();
	items.forEach((item, i) => {
		try {
			const settings = settingsOf(this, i);
			const needsPerson = settings.strategy === 'forThisPerson' || settings.strategy === 'recentlyViewed';
			if (needsPerson && !persons[i]) {
				throw new NodeOperationError(this.getNode(), personField ? `The item has no "${personField}" to find the person by` : 'Person Field: this strategy needs the person', {
					itemIndex: i,
					description: 'Set "Person Field" to the field that holds the ID, such as profileId or customer.email. Someone the store does not know yet gets popular products.',
				});
			}
			const productIds = settings.strategy === 'itemToItem' || settings.strategy === 'forThisPerson' ? productIdsOf(this.getNodeParameter('productIds', i, '')) : [];
			if (settings.strategy === 'itemToItem' && productIds.length === 0) {
				throw new NodeOperationError(this.getNode(), 'Product IDs: the item names no product to start from', {
					itemIndex: i,
					description: 'Map the product IDs of the item, such as {{ $json.properties.product_id }}, or choose the strategy For This Person.',
				});
			}
			const key = JSON.stringify(settings);
			const group = groups.get(key) ?? { settings, indexes: [], requests: [] };
			group.indexes.push(i);
			group.requests.push({ profileId: profileIds[i], productIds });
			groups.set(key, group);
		} catch (error) {
			if (!this.continueOnFail()) throw error instanceof NodeOperationError ? error : new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
			output[i] = { json: { ...item.json, error: (error as Error).message }, pairedItem: { item: i } };
		}
	});
	const now = new Date();
	for (const { settings, indexes, requests } of groups.values()) {
		const { field, ...recommendation } = settings;
		let next = 0;
		for await (const page of offThread(store.driver, 'recommendations', { requests, settings: recommendation, now })) {
			for (const products of page) {
				const i = indexes[next++];
				output[i] = { json: { ...items[i].json, [field]: products as unknown as IDataObject[] }, pairedItem: { item: i } };
			}
		}
	}
	return output;
}
