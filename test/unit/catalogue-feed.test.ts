import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { delimitedRecords } from '../../nodes/shared/catalogue/delimited.ts';
import { FeedError } from '../../nodes/shared/catalogue/errors.ts';
import { detectFormat, FeedReader, type FeedFormat, feedText, productOf } from '../../nodes/shared/catalogue/feed.ts';
import { eventProductOf, type Product } from '../../nodes/shared/catalogue/product.ts';
import { xmlItems } from '../../nodes/shared/catalogue/xml.ts';

const FEEDS = path.resolve(__dirname, '../fixtures/feeds');

async function read(file: string, format: FeedFormat | 'auto' = 'auto'): Promise<{ reader: FeedReader; products: Product[] }> {
	const reader = new FeedReader(await feedText(readFileSync(path.join(FEEDS, file)), 10_000_000), format);
	return { reader, products: [...reader.products()] };
}

/** The products every fixture holds, whatever its format (descriptions differ in their line breaks). */
const EXPECTED: Array<Omit<Product, 'description'>> = [
	{
		id: 'shirt-1',
		title: 'Linen shirt, blue',
		link: 'https://shop.test/p/shirt-1',
		imageLink: 'https://shop.test/i/shirt-1.jpg',
		price: 39.9,
		salePrice: 29.9,
		currency: 'EUR',
		availability: 'in_stock',
		brand: 'Acme',
		googleProductCategory: 'Apparel & Accessories > Clothing',
		productType: 'Shirts > Linen',
		itemGroupId: 'shirt',
		customLabels: { custom_label_0: 'summer' },
	},
	{
		id: 'shirt-2',
		title: 'Linen shirt (white)',
		link: 'https://shop.test/p/shirt-2',
		imageLink: 'https://shop.test/i/shirt-2.jpg',
		price: 39.9,
		salePrice: null,
		currency: 'EUR',
		availability: 'in_stock',
		brand: 'Acme',
		googleProductCategory: 'Apparel & Accessories > Clothing',
		productType: 'Shirts > Linen',
		itemGroupId: 'shirt',
		customLabels: {},
	},
	{
		id: 'mug-1',
		title: 'The "Best" Mug',
		link: 'https://shop.test/p/mug-1',
		imageLink: null,
		price: 12,
		salePrice: null,
		currency: 'EUR',
		availability: 'out_of_stock',
		brand: 'Mugco',
		googleProductCategory: 'Home & Garden > Kitchen',
		productType: 'Kitchen > Mugs',
		itemGroupId: null,
		customLabels: {},
	},
	{
		id: 'book-1',
		title: 'Cookbook',
		link: 'https://shop.test/p/book-1',
		imageLink: 'https://shop.test/i/book-1.jpg',
		price: 15,
		salePrice: null,
		currency: 'EUR',
		availability: 'preorder',
		brand: null,
		googleProductCategory: null,
		productType: null,
		itemGroupId: null,
		customLabels: {},
	},
];

function withoutDescription(product: Product): Omit<Product, 'description'> {
	const rest: Partial<Product> = { ...product };
	delete rest.description;
	return rest as Omit<Product, 'description'>;
}

describe('product feed fixtures: the good rows kept, each bad row refused with its line and reason', () => {
	it.each<[string, FeedFormat, number[], string]>([
		['products.csv', 'csv', [6, 7, 8], 'Soft linen.\r\nMachine washable.'],
		['products.tsv', 'tsv', [5, 6, 7], 'Soft linen. Machine washable.'],
		['products.xml', 'xml', [52, 58, 66], 'Soft linen.\nMachine washable.'],
	])('%s', async (file, format, [noId, badPrice, badAvailability], description) => {
		const { reader, products } = await read(file);
		expect(reader.format).toBe(format);
		expect(products.map(withoutDescription)).toEqual(EXPECTED);
		expect(products[0].description).toBe(description);
		expect(reader.rows).toBe(7);
		expect(reader.refused).toEqual([
			{ line: noId, field: 'id', reason: 'missing id' },
			{ line: badPrice, id: 'lamp-1', field: 'price', reason: 'bad price "twelve EUR": write an amount and a currency code, like "15.00 USD"' },
			{
				line: badAvailability,
				id: 'desk-1',
				field: 'availability',
				reason: 'unknown availability "maybe": use in_stock, out_of_stock, preorder or backorder',
			},
		]);
	});

	it('reads a fixture in the format asked for, and refuses a file that is not in it', async () => {
		expect((await read('products.csv', 'csv')).products).toHaveLength(4);
		await expect(read('products.xml', 'csv')).rejects.toThrow('the CSV header has no "id" column');
		await expect(read('products.csv', 'xml')).rejects.toThrow(FeedError);
	});
});

describe('CSV and TSV records', () => {
	const records = (text: string, delimiter: ',' | '\t' = ',') => [...delimitedRecords(text, delimiter)];

	it('keeps commas, line breaks and doubled quotes inside quoted fields, and numbers records by their first line', () => {
		expect(records('a,b\r\n"x, y","1\n2"\r\n\r\n"say ""hi""",z')).toEqual([
			{ line: 1, fields: ['a', 'b'] },
			{ line: 2, fields: ['x, y', '1\n2'] },
			{ line: 5, fields: ['say "hi"', 'z'] },
		]);
	});

	it('splits TSV on tabs only, and keeps empty trailing fields', () => {
		expect(records('a\tb, c\t\n', '\t')).toEqual([{ line: 1, fields: ['a', 'b, c', ''] }]);
	});

	it('refuses a quote that is never closed, naming the line its record starts on', () => {
		expect(() => records('id,title\n1,"open\n2,x\n')).toThrow('line 2: a quoted field is never closed');
	});
});

describe('XML items', () => {
	it('reads g: elements by the prefix the feed declares, RSS elements without a namespace, and ignores other namespaces', () => {
		const xml = `<rss xmlns:p="http://base.google.com/ns/1.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
			<item><p:id>a</p:id><atom:title>not this</atom:title><title>Plain</title><empty/></item></channel></rss>`;
		const [item] = [...xmlItems(xml)];
		expect(Object.fromEntries(item.google)).toEqual({ id: 'a' });
		expect(Object.fromEntries(item.plain)).toEqual({ title: 'Plain', empty: '' });
		expect(item.line).toBe(2);
	});

	it('takes an undeclared g: prefix as Google\'s, as hand-written feeds use it', () => {
		const [item] = [...xmlItems('<rss><channel><item><g:id>x</g:id></item></channel></rss>')];
		expect(item.google.get('id')).toBe('x');
	});

	it('refuses badly nested or unclosed elements with the line', () => {
		expect(() => [...xmlItems('<rss>\n<channel>\n<item><g:id>1</item>\n</channel></rss>')]).toThrow('line 3: </item> closes <g:id> of line 3');
		expect(() => [...xmlItems('<rss>\n<channel>\n')]).toThrow('line 2: <channel> is never closed');
		expect(() => [...xmlItems('<rss><![CDATA[ x')]).toThrow('a CDATA section is never closed');
	});

	it('decodes the five entities and character references, and leaves unknown entities as written', () => {
		const [item] = [...xmlItems('<rss><item><g:title>&lt;&gt;&amp;&quot;&apos;&#233;&#xE9;&nbsp;</g:title></item></rss>')];
		expect(item.google.get('title')).toBe(`<>&"'éé&nbsp;`);
	});
});

describe('feed rows', () => {
	const row = (attributes: Record<string, string>) => productOf(new Map(Object.entries({ id: 'p', title: 'T', ...attributes })));

	it.each([
		['15.00 USD', 15, 'USD'],
		['15,50 eur', 15.5, 'EUR'],
		['EUR 7', 7, 'EUR'],
		['9.99', 9.99, null],
	])('reads the price "%s"', (price, amount, currency) => {
		expect(row({ price })).toMatchObject({ product: { price: amount, currency } });
	});

	it.each(['-5 EUR', 'USD 15.00 EUR', '1,234.00 USD', 'free'])('refuses the price "%s"', (price) => {
		expect(row({ price })).toEqual({ refusal: { id: 'p', field: 'price', reason: expect.stringContaining(`bad price "${price}"`) } });
	});

	it("takes Google's older availability spellings", () => {
		expect(row({ availability: 'In Stock' })).toMatchObject({ product: { availability: 'in_stock' } });
		expect(row({ availability: 'out of stock' })).toMatchObject({ product: { availability: 'out_of_stock' } });
		expect(row({ availability: 'available for order' })).toMatchObject({ product: { availability: 'in_stock' } });
		expect(row({ availability: 'pre-order' })).toMatchObject({ product: { availability: 'preorder' } });
		expect(row({})).toMatchObject({ product: { availability: null } });
	});

	it('refuses a missing title, a link that is not a web address and a sale price in another currency', () => {
		expect(row({ title: ' ' })).toEqual({ refusal: { id: 'p', field: 'title', reason: 'missing title' } });
		expect(row({ image_link: 'shop.test/a.jpg' })).toEqual({ refusal: { id: 'p', field: 'image_link', reason: 'bad image_link "shop.test/a.jpg": not an http or https URL' } });
		expect(row({ price: '10 EUR', sale_price: '8 USD' })).toEqual({ refusal: { id: 'p', field: 'sale_price', reason: "bad sale price: its currency USD is not the price's EUR" } });
	});

	it('refuses a second row with an id already read, naming the first line', () => {
		const reader = new FeedReader('id,title\na,One\nb,Two\na,Again\n', 'auto');
		expect([...reader.products()].map((p) => p.title)).toEqual(['One', 'Two']);
		expect(reader.refused).toEqual([{ line: 4, id: 'a', field: 'id', reason: 'the same id as the product on line 2' }]);
	});

	it('reads header names with spaces, capitals or a g: prefix', () => {
		const [product] = new FeedReader('ID\tTitle\tImage Link\tg:price\n1\tA\thttps://x.test/a.jpg\t3 EUR\n', 'auto').products();
		expect(product).toMatchObject({ id: '1', title: 'A', imageLink: 'https://x.test/a.jpg', price: 3 });
	});
});

describe('feed files', () => {
	it('detects XML, TSV and CSV', () => {
		expect(detectFormat('\n  <?xml version="1.0"?><rss/>')).toBe('xml');
		expect(detectFormat('id\ttitle, with comma\n')).toBe('tsv');
		expect(detectFormat('id,title\n1,a\tb\n')).toBe('csv');
	});

	it('unpacks a gzip-compressed feed, within the size limit', async () => {
		const csv = 'id,title\n1,A\n';
		expect(await feedText(gzipSync(csv), 1000)).toBe(csv);
		await expect(feedText(gzipSync('x'.repeat(5000)), 1000)).rejects.toThrow('the unpacked feed is larger than the 0.001 MB limit');
	});

	it('decodes the encoding an XML declaration names, and drops a UTF-8 byte order mark', async () => {
		const latin1 = Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><rss><item><g:id>\xe9</g:id></item></rss>', 'latin1');
		expect(await feedText(latin1, 1000)).toContain('<g:id>é</g:id>');
		expect(await feedText(Buffer.from('\ufeffid,title', 'utf8'), 1000)).toBe('id,title');
		await expect(feedText(Buffer.from('<?xml version="1.0" encoding="x-klingon"?><rss/>'), 1000)).rejects.toThrow('names an encoding this reader does not know: x-klingon');
		await expect(feedText(Buffer.from([0x1f, 0x8b, 1, 2, 3]), 1000)).rejects.toThrow('the gzip-compressed feed cannot be unpacked');
	});
});

describe('products in tracked events', () => {
	it("reads Segment's product properties, by product_id else sku", () => {
		expect(eventProductOf({ sku: 42, name: ' Mug ', price: 9.5, url: 'https://s.test/m', image_url: 'https://s.test/m.jpg', category: 'Kitchen', brand: 'M' }, 'eur')).toEqual({
			id: '42',
			title: 'Mug',
			price: 9.5,
			currency: 'EUR',
			link: 'https://s.test/m',
			imageLink: 'https://s.test/m.jpg',
			productType: 'Kitchen',
			brand: 'M',
		});
		expect(eventProductOf({ name: 'no id' })).toBeUndefined();
	});
});
