/** Google Merchant Center's availability values. */
export const AVAILABILITIES = ['in_stock', 'out_of_stock', 'preorder', 'backorder'] as const;
export type Availability = (typeof AVAILABILITIES)[number];

export const CUSTOM_LABELS = ['custom_label_0', 'custom_label_1', 'custom_label_2', 'custom_label_3', 'custom_label_4'] as const;
export type CustomLabel = (typeof CUSTOM_LABELS)[number];

/**
 * A product as a feed or tracked events describe it, keyed by the feed's `id`, which is what events
 * carry as `product_id` (or `sku`). What the source does not say is null.
 */
export interface Product {
	id: string;
	title: string | null;
	description: string | null;
	link: string | null;
	imageLink: string | null;
	price: number | null;
	salePrice: number | null;
	/** ISO 4217 code of price and sale price. */
	currency: string | null;
	/** Null when the source does not say: events never do. */
	availability: Availability | null;
	brand: string | null;
	/** Google's product taxonomy, as the feed gives it (an ID or a "A > B > C" path). */
	googleProductCategory: string | null;
	/** The shop's own category path; a tracked event's `category` lands here. */
	productType: string | null;
	/** Variants of one product share it. */
	itemGroupId: string | null;
	customLabels: Partial<Record<CustomLabel, string>>;
}

/** Where the store's copy of a product comes from: the feed is authoritative, events only fill in products no feed lists. */
export type ProductSource = 'feed' | 'events';

export interface StoredProduct extends Product {
	source: ProductSource;
	/** When a feed import last listed the product. */
	feedSeenAt: string | null;
	/** When a full feed import first no longer listed it (its availability is then out_of_stock); null while listed. */
	missingSince: string | null;
	createdAt: string;
	updatedAt: string;
}

/** The product fields a tracked event can teach; what it does not carry is undefined. */
export type EventProduct = Pick<Product, 'id'> & { [K in 'title' | 'price' | 'currency' | 'link' | 'imageLink' | 'productType' | 'brand']?: NonNullable<Product[K]> };

/**
 * A product as Segment's e-commerce spec writes one in an event's properties (or in its `products`
 * list): `product_id` (else `sku`), `name`, `price`, `url`, `image_url`, `category`, `brand`; none
 * without an id. `currency` is the event's. Only what the event says is set, so that spreading one
 * over another keeps what the later one does not say.
 */
export function eventProductOf(raw: Record<string, unknown>, currency?: unknown): EventProduct | undefined {
	const id = raw.product_id ?? raw.sku;
	if (id === undefined || id === null || String(id).trim() === '') return undefined;
	const product: EventProduct = { id: String(id).trim() };
	const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);
	const said = {
		title: text(raw.name),
		price: typeof raw.price === 'number' && Number.isFinite(raw.price) ? raw.price : undefined,
		currency: text(currency)?.toUpperCase(),
		link: text(raw.url),
		imageLink: text(raw.image_url),
		productType: text(raw.category),
		brand: text(raw.brand),
	};
	for (const [key, value] of Object.entries(said)) if (value !== undefined) Object.assign(product, { [key]: value });
	return product;
}
