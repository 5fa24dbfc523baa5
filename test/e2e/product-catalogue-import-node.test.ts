import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import type { INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { ProductCatalogue } from '../../nodes/ProductCatalogue/ProductCatalogue.node.ts';
import { openEmbeddedStore } from '../../nodes/shared/store/open.ts';
import { runNode, runNodeTask } from '../harness/run-node.ts';

const FEEDS = path.resolve(__dirname, '../fixtures/feeds');

/** Product → Import Feed run by n8n-core in-process, as in a workflow, on the embedded store. */
describe('the Product Catalogue node, Import Feed, run by n8n-core', () => {
	const dir = mkdtempSync(path.join(tmpdir(), 'rt-catalogue-import-'));
	process.env.RETARGETING_SQLITE_FILE = path.join(dir, 'store.sqlite');
	/** What the feed server answers, by path: a body and its content type, or a status. */
	const served = new Map<string, { body: Buffer; type: string } | number>();
	let server: Server;
	let base: string;

	beforeAll(async () => {
		server = createServer((request, response) => {
			const answer = served.get(request.url ?? '') ?? 404;
			if (typeof answer === 'number') response.writeHead(answer).end('not here');
			else response.writeHead(200, { 'content-type': answer.type }).end(answer.body);
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	});

	afterAll(async () => {
		await new Promise((resolve) => server.close(resolve));
		rmSync(dir, { recursive: true, force: true });
	});

	const importFeed = (parameters: Record<string, unknown>, items: INodeExecutionData[] = [{ json: {} }], continueOnFail = false) =>
		runNodeTask({ nodeType: new ProductCatalogue(), parameters: { resource: 'product', operation: 'importFeed', ...parameters } as INodeParameters, items, continueOnFail });

	const fileItem = (file: string, mimeType: string): INodeExecutionData => ({
		json: {},
		binary: { data: { data: readFileSync(path.join(FEEDS, file)).toString('base64'), mimeType, fileName: file } },
	});

	it('imports the CSV fixture from a binary item: its products in the store, each refused row with its line and reason', async () => {
		const { outputs } = await importFeed({ feedSource: 'binary' }, [fileItem('products.csv', 'text/csv')]);
		expect(outputs[0]).toHaveLength(1);
		expect(outputs[0][0].pairedItem).toEqual({ item: 0 });
		expect(outputs[0][0].json).toMatchObject({
			source: 'products.csv',
			format: 'csv',
			mode: 'full',
			rows: 7,
			imported: 4,
			inserted: 4,
			updated: 0,
			unchanged: 0,
			markedUnavailable: 0,
			refusedCount: 3,
		});
		expect(outputs[0][0].json.refused).toEqual([
			{ line: 6, field: 'id', reason: 'missing id' },
			{ line: 7, id: 'lamp-1', field: 'price', reason: expect.stringContaining('bad price "twelve EUR"') },
			{ line: 8, id: 'desk-1', field: 'availability', reason: expect.stringContaining('unknown availability "maybe"') },
		]);
		const store = await openEmbeddedStore();
		expect((await store.productsByIds(['shirt-1'])).get('shirt-1')).toMatchObject({ title: 'Linen shirt, blue', price: 39.9, salePrice: 29.9, source: 'feed' });
	});

	it('downloads a gzip-compressed XML feed from a URL; then a full feed that lists one product marks the others out of stock', async () => {
		served.set('/feed.xml.gz', { body: gzipSync(readFileSync(path.join(FEEDS, 'products.xml'))), type: 'application/gzip' });
		const [again] = await runNode({
			nodeType: new ProductCatalogue(),
			parameters: { resource: 'product', operation: 'importFeed', feedUrl: `${base}/feed.xml.gz` },
			items: [{ json: {} }],
		});
		// The XML's shirt-1 description breaks its line with LF, the CSV's with CRLF: the one change.
		expect(again[0].json).toMatchObject({ format: 'xml', source: `${base}/feed.xml.gz`, inserted: 0, updated: 1, unchanged: 3, markedUnavailable: 0, refusedCount: 3 });

		served.set('/one.tsv', { body: Buffer.from('id\ttitle\tprice\nmug-1\tThe "Best" Mug\t12 EUR\n'), type: 'text/tab-separated-values' });
		const { outputs } = await importFeed({ feedUrl: `${base}/one.tsv`, feedFormat: 'tsv' });
		expect(outputs[0][0].json).toMatchObject({ format: 'tsv', imported: 1, markedUnavailable: 3 });
		const store = await openEmbeddedStore();
		const products = await store.productsByIds(['shirt-1', 'mug-1']);
		expect(products.get('shirt-1')).toMatchObject({ availability: 'out_of_stock', missingSince: expect.any(String) });
		expect(products.get('mug-1')).toMatchObject({ missingSince: null });
	});

	it('a partial feed changes only what it lists, and lists at most 100 refused rows with their total', async () => {
		const bad = Array.from({ length: 150 }, (_, i) => `bad-${i},Bad ${i},free`);
		served.set('/partial.csv', { body: Buffer.from(['id,title,price', 'new-1,New,5 EUR', ...bad].join('\n')), type: 'text/csv' });
		const { outputs } = await importFeed({ feedUrl: `${base}/partial.csv`, importMode: 'partial' });
		expect(outputs[0][0].json).toMatchObject({ mode: 'partial', rows: 151, imported: 1, inserted: 1, markedUnavailable: 0, refusedCount: 150 });
		expect(outputs[0][0].json.refused).toHaveLength(100);
		expect((outputs[0][0].json.refused as Array<{ line: number }>)[99].line).toBe(102);
	});

	it('refuses a feed larger than the limit, a broken file, a full feed with nothing to import and a missing feed, naming the reason', async () => {
		served.set('/big.csv', { body: Buffer.from(`id,title\n${'x,y\n'.repeat(300_000)}`), type: 'text/csv' });
		await expect(importFeed({ feedUrl: `${base}/big.csv`, importOptions: { maxSizeMb: 1 } })).rejects.toThrow('The feed cannot be read: the feed is larger than the 1 MB limit');
		served.set('/broken.xml', { body: Buffer.from('<rss>\n<channel>\n<item><g:id>1</g:id>\n</channel></rss>'), type: 'application/xml' });
		await expect(importFeed({ feedUrl: `${base}/broken.xml` })).rejects.toThrow('The feed cannot be read: line 4: </channel> closes <item> of line 3');
		served.set('/all-bad.csv', { body: Buffer.from('id,title\n,No id\n'), type: 'text/csv' });
		await expect(importFeed({ feedUrl: `${base}/all-bad.csv` })).rejects.toThrow('No product of the feed can be imported (1 rows, 1 refused)');
		await expect(importFeed({ feedUrl: `${base}/missing.xml` })).rejects.toThrow(`The feed could not be downloaded from ${base}/missing.xml`);
		await expect(importFeed({ feedUrl: 'ftp://shop.test/feed.xml' })).rejects.toThrow('Feed URL must be an http or https address');
		const store = await openEmbeddedStore();
		// Nothing above took mug-1, the one product the last full feed listed, out of stock.
		expect((await store.productsByIds(['mug-1'])).get('mug-1')).toMatchObject({ missingSince: null });
	});

	it('with continue on fail, an item whose feed cannot be read leaves with the error, the others with their counts', async () => {
		served.set('/ok.csv', { body: Buffer.from('id,title\nmug-1,The "Best" Mug\n'), type: 'text/csv' });
		const { outputs } = await importFeed(
			{ feedUrl: '={{ $json.url }}', importMode: 'partial' },
			[{ json: { url: `${base}/missing.csv` } }, { json: { url: `${base}/ok.csv` } }],
			true,
		);
		expect(outputs[0].map((item) => [item.pairedItem, Object.keys(item.json)[0]])).toEqual([
			[{ item: 0 }, 'error'],
			[{ item: 1 }, 'source'],
		]);
	});
});
