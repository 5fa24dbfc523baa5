import { gunzip } from 'node:zlib';
import { promisify, TextDecoder } from 'node:util';

import { delimitedRecords } from './delimited';
import { FeedError } from './errors';
import { type Availability, AVAILABILITIES, CUSTOM_LABELS, type Product } from './product';
import { xmlItems } from './xml';

export type FeedFormat = 'xml' | 'csv' | 'tsv';

/** A feed row that was not imported, and why; the other rows still are. */
export interface Refusal {
	/** The row's line in the file (an XML item's `<item>` line); 1 is the first line. */
	line: number;
	id?: string;
	/** The attribute at fault, as the feed names it. */
	field: string;
	reason: string;
}

const unzip = promisify(gunzip);

/**
 * The text of a feed file: unpacked when gzip-compressed (feeds are often served as .xml.gz), its
 * byte order mark dropped, decoded as UTF-8 unless an XML declaration names another encoding.
 * `maxBytes` bounds the unpacked size too.
 */
export async function feedText(bytes: Uint8Array, maxBytes: number): Promise<string> {
	let data = bytes;
	if (data[0] === 0x1f && data[1] === 0x8b) {
		const unpacked = await unzip(data, { maxOutputLength: maxBytes }).then(
			(buffer) => ({ buffer }),
			(error: NodeJS.ErrnoException) => ({ error }),
		);
		if ('error' in unpacked) {
			throw new FeedError(
				unpacked.error.code === 'ERR_BUFFER_TOO_LARGE'
					? `the unpacked feed is larger than the ${maxBytes / 1_000_000} MB limit`
					: `the gzip-compressed feed cannot be unpacked: ${unpacked.error.message}`,
			);
		}
		data = unpacked.buffer;
	}
	if (data[0] === 0xff && data[1] === 0xfe) return new TextDecoder('utf-16le').decode(data);
	if (data[0] === 0xfe && data[1] === 0xff) return new TextDecoder('utf-16be').decode(data);
	const declared = /^\s*<\?xml[^>]*\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(new TextDecoder('latin1').decode(data.subarray(0, 200)))?.[1];
	const decoder = decoderFor(declared ?? 'utf-8');
	if (!decoder) throw new FeedError(`the feed's XML declaration names an encoding this reader does not know: ${declared}`);
	// TextDecoder drops a UTF-8 byte order mark.
	return decoder.decode(data);
}

/** A decoder for an encoding label; undefined for a label it does not know. */
function decoderFor(label: string): TextDecoder | undefined {
	try {
		return new TextDecoder(label);
	} catch {
		return undefined;
	}
}

/** XML when the text starts with a tag; else TSV when its header line has a tab, CSV otherwise. */
export function detectFormat(text: string): FeedFormat {
	const start = text.replace(/^\uFEFF/, '').trimStart();
	if (start.startsWith('<')) return 'xml';
	const header = start.slice(0, start.search(/\r?\n|$/));
	return header.includes('\t') ? 'tsv' : 'csv';
}

/** A header cell as Google's attribute name: "Image Link", "image link" and "image_link" are one. */
export function attributeName(header: string): string {
	return header.trim().toLowerCase().replace(/^g:/, '').replace(/[\s-]+/g, '_');
}

/**
 * Reads a Google Merchant Center feed, row by row: `products()` yields each product that can be
 * imported, and meanwhile fills `refused` with the others (missing id or title, bad price, unknown
 * availability, a second row with the same id...) and counts `rows`. A file that is not a feed of
 * that format throws FeedError.
 */
export class FeedReader {
	readonly format: FeedFormat;

	readonly refused: Refusal[] = [];

	rows = 0;

	private readonly text: string;

	constructor(text: string, format: FeedFormat | 'auto') {
		this.text = text.replace(/^\uFEFF/, '');
		this.format = format === 'auto' ? detectFormat(this.text) : format;
	}

	*products(): Generator<Product> {
		const firstLine = new Map<string, number>();
		for (const row of this.format === 'xml' ? xmlRows(this.text) : delimitedRows(this.text, this.format === 'tsv' ? '\t' : ',')) {
			this.rows++;
			const read = productOf(row.attributes);
			if ('refusal' in read) {
				this.refused.push({ line: row.line, ...read.refusal });
				continue;
			}
			const first = firstLine.get(read.product.id);
			if (first !== undefined) {
				this.refused.push({ line: row.line, id: read.product.id, field: 'id', reason: `the same id as the product on line ${first}` });
				continue;
			}
			firstLine.set(read.product.id, row.line);
			yield read.product;
		}
	}
}

interface FeedRow {
	line: number;
	/** Google attribute name → value as written (not yet trimmed). */
	attributes: Map<string, string>;
}

function* delimitedRows(text: string, delimiter: ',' | '\t'): Generator<FeedRow> {
	const records = delimitedRecords(text, delimiter);
	const header = records.next();
	if (header.done) throw new FeedError('the feed is empty');
	const names = header.value.fields.map(attributeName);
	if (!names.includes('id')) {
		const kind = delimiter === ',' ? 'CSV' : 'TSV';
		throw new FeedError(`the ${kind} header has no "id" column (it has: ${names.slice(0, 10).join(', ')})`, header.value.line);
	}
	for (const record of records) {
		const attributes = new Map<string, string>();
		names.forEach((name, i) => {
			if (name !== '' && !attributes.has(name)) attributes.set(name, record.fields[i] ?? '');
		});
		yield { line: record.line, attributes };
	}
}

function* xmlRows(text: string): Generator<FeedRow> {
	for (const item of xmlItems(text)) {
		// RSS's own <title>, <link> and <description> count where the item has no g: one.
		yield { line: item.line, attributes: new Map([...item.plain, ...item.google]) };
	}
}

/**
 * Google's availability values, and the spellings Google accepted before 2014 ("in stock",
 * "out of stock", "preorder", "available for order", which now means in stock).
 */
const AVAILABILITY_SPELLINGS: Record<string, Availability> = {
	...Object.fromEntries(AVAILABILITIES.map((a) => [a, a])),
	pre_order: 'preorder',
	back_order: 'backorder',
	available_for_order: 'in_stock',
};

/** An amount and currency as Google writes a price: "15.00 USD" (also "USD 15.00", "15,00 EUR"). */
const PRICE = /^(?:([A-Za-z]{3})\s*)?(\d+(?:[.,]\d+)?)(?:\s*([A-Za-z]{3}))?$/;

function priceOf(value: string): { amount: number; currency: string | null } | undefined {
	const match = PRICE.exec(value);
	if (!match || (match[1] && match[3])) return undefined;
	return { amount: Number(match[2].replace(',', '.')), currency: (match[1] ?? match[3])?.toUpperCase() ?? null };
}

type Read = { product: Product } | { refusal: Omit<Refusal, 'line'> };

/** The product a feed row describes, or why it cannot be imported (the first fault found). */
export function productOf(attributes: ReadonlyMap<string, string>): Read {
	const get = (name: string): string | null => {
		const value = attributes.get(name)?.trim();
		return value ? value : null;
	};
	const id = get('id');
	if (!id) return { refusal: { field: 'id', reason: 'missing id' } };
	const refuse = (field: string, reason: string): Read => ({ refusal: { id, field, reason } });
	const title = get('title');
	if (!title) return refuse('title', 'missing title');
	for (const field of ['link', 'image_link'] as const) {
		const url = get(field);
		if (url && !/^https?:\/\/[^\s/]+/i.test(url)) return refuse(field, `bad ${field} "${url}": not an http or https URL`);
	}
	const prices: Record<'price' | 'sale_price', { amount: number; currency: string | null } | undefined> = { price: undefined, sale_price: undefined };
	for (const field of ['price', 'sale_price'] as const) {
		const written = get(field);
		if (!written) continue;
		const price = priceOf(written);
		if (!price) return refuse(field, `bad ${field.replace('_', ' ')} "${written}": write an amount and a currency code, like "15.00 USD"`);
		prices[field] = price;
	}
	const currency = prices.price?.currency ?? prices.sale_price?.currency ?? null;
	if (prices.price?.currency && prices.sale_price?.currency && prices.price.currency !== prices.sale_price.currency) {
		return refuse('sale_price', `bad sale price: its currency ${prices.sale_price.currency} is not the price's ${prices.price.currency}`);
	}
	const written = get('availability');
	let availability: Availability | null = null;
	if (written) {
		availability = AVAILABILITY_SPELLINGS[attributeName(written)] ?? null;
		if (!availability) return refuse('availability', `unknown availability "${written}": use in_stock, out_of_stock, preorder or backorder`);
	}
	return {
		product: {
			id,
			title,
			description: get('description'),
			link: get('link'),
			imageLink: get('image_link'),
			price: prices.price?.amount ?? null,
			salePrice: prices.sale_price?.amount ?? null,
			currency,
			availability,
			brand: get('brand'),
			googleProductCategory: get('google_product_category'),
			productType: get('product_type'),
			itemGroupId: get('item_group_id'),
			customLabels: Object.fromEntries(CUSTOM_LABELS.flatMap((label) => (get(label) ? [[label, get(label)]] : []))),
		},
	};
}
