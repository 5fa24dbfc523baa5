import type { Readable } from 'node:stream';

import {
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
	type JsonObject,
	NodeApiError,
	NodeOperationError,
} from 'n8n-workflow';

import { FeedError } from '../../../shared/catalogue/errors';
import { type FeedFormat, FeedReader, feedText } from '../../../shared/catalogue/feed';
import type { Product } from '../../../shared/catalogue/product';
import type { RetargetingStore } from '../../../shared/store/store';

/** Refused rows listed in the output; the total is always given. */
const LISTED_REFUSALS = 100;

const ROWS_A_TURN = 2000;

const show = (extra: Record<string, string[]> = {}) => ({ show: { resource: ['product'], operation: ['importFeed'], ...extra } });

export const description: INodeProperties[] = [
	{
		displayName: 'Source',
		name: 'feedSource',
		type: 'options',
		options: [
			{ name: 'URL', value: 'url', description: 'Download the feed from a web address, as Google Merchant Center fetches it' },
			{ name: 'Binary File', value: 'binary', description: 'A file an earlier node read or downloaded (for a feed behind a login, download it with the HTTP Request node)' },
		],
		default: 'url',
		displayOptions: show(),
		description: 'Where the product feed comes from',
	},
	{
		displayName: 'Feed URL',
		name: 'feedUrl',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'https://shop.example.com/feeds/google.xml',
		displayOptions: show({ feedSource: ['url'] }),
		description: 'The address of the feed: Google Merchant Center XML (RSS 2.0), CSV or TSV, optionally gzip-compressed',
	},
	{
		displayName: 'Input Binary Field',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		required: true,
		displayOptions: show({ feedSource: ['binary'] }),
		description: 'The name of the input item\'s binary field that holds the feed file',
	},
	{
		displayName: 'Format',
		name: 'feedFormat',
		type: 'options',
		options: [
			{ name: 'Auto-Detect', value: 'auto', description: 'XML when the file starts with a tag; else TSV when its header line has tabs, else CSV' },
			{ name: 'XML (RSS 2.0)', value: 'xml', description: 'Items with Google\'s g: attributes, as Google Merchant Center reads them' },
			{ name: 'CSV', value: 'csv', description: 'Comma-separated, a header row of attribute names (ID, title, price…)' },
			{ name: 'TSV', value: 'tsv', description: 'Tab-separated, a header row of attribute names (ID, title, price…)' },
		],
		default: 'auto',
		displayOptions: show(),
		description: 'The file format of the feed',
	},
	{
		displayName: 'Mode',
		name: 'importMode',
		type: 'options',
		options: [
			{
				name: 'Full Feed',
				value: 'full',
				description: 'The feed lists every product: products of an earlier feed it no longer lists become out of stock, so they are never recommended',
			},
			{ name: 'Partial Feed', value: 'partial', description: 'The feed lists some products only: they are created or updated, nothing else changes' },
		],
		default: 'full',
		displayOptions: show(),
		description: 'Whether the feed is the whole catalogue',
	},
	{
		displayName: 'Options',
		name: 'importOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show(),
		options: [
			{
				displayName: 'Max Feed Size (MB)',
				name: 'maxSizeMb',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 100,
				description: 'A bigger feed (after unpacking, when compressed) is refused before it is read, so that a wrong URL cannot exhaust n8n\'s memory',
			},
		],
	},
];

/** A download's body, refused as soon as it grows past `maxBytes`. */
async function readLimited(body: Readable, maxBytes: number): Promise<Buffer> {
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of body) {
		size += (chunk as Buffer).length;
		if (size > maxBytes) {
			body.destroy();
			throw new FeedError(`the feed is larger than the ${maxBytes / 1_000_000} MB limit`);
		}
		chunks.push(chunk as Buffer);
	}
	return Buffer.concat(chunks);
}

async function feedBytes(this: IExecuteFunctions, i: number, maxBytes: number): Promise<{ bytes: Uint8Array; source: string }> {
	if (this.getNodeParameter('feedSource', i) === 'binary') {
		const field = this.getNodeParameter('binaryPropertyName', i) as string;
		const binary = this.helpers.assertBinaryData(i, field);
		const bytes = await this.helpers.getBinaryDataBuffer(i, field);
		if (bytes.length > maxBytes) throw new FeedError(`the feed is larger than the ${maxBytes / 1_000_000} MB limit`);
		return { bytes, source: binary.fileName ?? field };
	}
	const url = (this.getNodeParameter('feedUrl', i) as string).trim();
	if (!/^https?:\/\//i.test(url)) {
		throw new NodeOperationError(this.getNode(), `Feed URL must be an http or https address, not "${url}"`, { itemIndex: i });
	}
	let response: { headers: Record<string, unknown>; body: Readable };
	try {
		response = await this.helpers.httpRequest({ method: 'GET', url, encoding: 'stream', returnFullResponse: true, timeout: 300_000 });
	} catch (error) {
		throw new NodeApiError(this.getNode(), error as JsonObject, { itemIndex: i, message: `The feed could not be downloaded from ${url}` });
	}
	if (Number(response.headers['content-length']) > maxBytes) {
		response.body.destroy();
		throw new FeedError(`the feed is larger than the ${maxBytes / 1_000_000} MB limit`);
	}
	return { bytes: await readLimited(response.body, maxBytes), source: url };
}

/**
 * Reads every row before anything is written, so that a file broken halfway imports nothing;
 * lets the event loop in every ROWS_A_TURN rows, as a big feed takes seconds to read.
 */
async function readAll(reader: FeedReader): Promise<Product[]> {
	const products: Product[] = [];
	for (const product of reader.products()) {
		if (products.push(product) % ROWS_A_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
	}
	return products;
}

async function importOne(this: IExecuteFunctions, store: RetargetingStore, i: number): Promise<IDataObject> {
	const maxBytes = (this.getNodeParameter('importOptions.maxSizeMb', i, 100) as number) * 1_000_000;
	const format = this.getNodeParameter('feedFormat', i) as FeedFormat | 'auto';
	const mode = this.getNodeParameter('importMode', i) as 'full' | 'partial';
	const { bytes, source } = await feedBytes.call(this, i, maxBytes);
	const reader = new FeedReader(await feedText(bytes, maxBytes), format);
	const products = await readAll(reader);
	if (mode === 'full' && products.length === 0) {
		const first = reader.refused[0];
		throw new NodeOperationError(this.getNode(), `No product of the feed can be imported (${reader.rows} rows, ${reader.refused.length} refused)`, {
			itemIndex: i,
			description: `Nothing was imported or marked unavailable. ${first ? `First refused row: line ${first.line}, ${first.reason}.` : 'The feed lists no product.'}`,
		});
	}
	const counts = await store.importProducts(products, { full: mode === 'full', at: new Date() });
	return {
		source,
		format: reader.format,
		mode,
		rows: reader.rows,
		imported: products.length,
		...counts,
		refusedCount: reader.refused.length,
		refused: reader.refused.slice(0, LISTED_REFUSALS) as unknown as IDataObject[],
	};
}

/** Imports the feed each input item names (usually one), one output item each. */
export async function execute(this: IExecuteFunctions, store: RetargetingStore, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			out.push({ json: await importOne.call(this, store, i), pairedItem: { item: i } });
		} catch (caught) {
			const error =
				caught instanceof FeedError
					? new NodeOperationError(this.getNode(), `The feed cannot be read: ${caught.message}`, {
							itemIndex: i,
							description: 'Check the Format parameter and that the file is a Google Merchant Center feed (XML, CSV or TSV with a header row). Nothing was imported.',
						})
					: caught;
			if (!this.continueOnFail()) throw error;
			out.push({ json: { error: (error as Error).message }, pairedItem: { item: i } });
		}
	}
	return out;
}
