import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

const source = readFileSync(path.join(__dirname, '..', '..', 'nodes', 'TrackingTrigger', 'tracker', 'tracker.js'), 'utf8');

interface SentEvent {
	type: string;
	anonymousId: string;
	context: { consent?: Record<string, boolean> } & Record<string, unknown>;
}

interface Page {
	sent: Array<{ url: string; body: { batch: SentEvent[] } }>;
	rt: (...args: unknown[]) => void;
}

/** Runs tracker.js as a page would, after the snippet queued `queued`, in a browser-like sandbox. */
function loadTracker(options: { cookie?: () => string; storage?: 'broken' | 'ok'; gpc?: boolean; config?: string; queued?: unknown[][] }): Page {
	const sent: Page['sent'] = [];
	const store = new Map<string, string>();
	const storage =
		options.storage === 'broken'
			? {
					getItem: () => {
						throw new Error('SecurityError');
					},
					setItem: () => {
						throw new Error('SecurityError');
					},
					removeItem: () => undefined,
				}
			: { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => store.set(k, v), removeItem: (k: string) => store.delete(k) };
	const stub = Object.assign(() => undefined, { q: options.queued ?? [] });
	const context: Record<string, unknown> = {
		document: {
			get cookie() {
				return options.cookie ? options.cookie() : '';
			},
			set cookie(_value: string) {
				if (options.cookie) options.cookie();
			},
			currentScript: { src: 'https://n8n.test/webhook/track/tracker.js?writeKey=wk_0123456789abcdef' },
			referrer: '',
			title: 'Shop',
			visibilityState: 'visible',
			addEventListener: () => undefined,
		},
		navigator: { userAgent: 'UA/1', language: 'fr-FR', globalPrivacyControl: options.gpc ?? false },
		location: { href: 'https://shop.test/p?utm_source=news&gclid=G1', pathname: '/p', search: '?utm_source=news&gclid=G1', protocol: 'https:' },
		localStorage: storage,
		sessionStorage: storage,
		crypto: globalThis.crypto,
		fetch: async (url: string, init: { body: string }) => {
			sent.push({ url, body: JSON.parse(init.body) });
		},
		addEventListener: () => undefined,
		setTimeout: () => 1,
		clearTimeout: () => undefined,
		URL,
		URLSearchParams,
		Intl,
		rt: stub,
	};
	context.window = context;
	vm.runInNewContext(options.config ? source.replace('/*RT_CONFIG*/ {}', options.config) : source, context);
	return { sent, rt: context.rt as Page['rt'] };
}

describe('tracker.js', () => {
	it('replays the calls queued before it loaded, and sends them to its own endpoint with the write key', () => {
		const page = loadTracker({ queued: [['page'], ['track', 'Product Viewed', { product_id: 'p1' }]] });
		page.rt('flush');
		expect(page.sent).toHaveLength(1);
		expect(page.sent[0].url).toBe('https://n8n.test/webhook/track?writeKey=wk_0123456789abcdef');
		const [pageView, view] = page.sent[0].body.batch;
		expect(pageView).toMatchObject({ type: 'page', context: { campaign: { source: 'news' }, clickIds: { gclid: 'G1' }, locale: 'fr-FR' } });
		expect(view).toMatchObject({ type: 'track', event: 'Product Viewed', properties: { product_id: 'p1' } });
		expect(view.anonymousId).toBe(pageView.anonymousId);
	});

	it('keeps working where cookies and storage throw (sandboxed frames) or a cookie is malformed', () => {
		for (const cookie of [() => { throw new Error('SecurityError'); }, () => 'rt_aid=%E0%A4%A']) {
			const page = loadTracker({ cookie, storage: 'broken' });
			page.rt('track', 'Product Viewed', {});
			page.rt('flush');
			expect(page.sent[0].body.batch[0]).toMatchObject({ event: 'Product Viewed', anonymousId: expect.any(String) });
		}
	});

	it('withdraws ad consent under Global Privacy Control when the node says so, and only then', () => {
		const honoured = loadTracker({ gpc: true, config: '{"gpc":true}' });
		honoured.rt('consent', { email: true, ads: true });
		honoured.rt('flush');
		expect(honoured.sent[0].body.batch[0].context).toMatchObject({ consent: { email: true, ads: false }, gpc: true });
		const ignored = loadTracker({ gpc: true, config: '{"gpc":false}' });
		ignored.rt('consent', { ads: true });
		ignored.rt('flush');
		expect(ignored.sent[0].body.batch[0].context.consent).toEqual({ ads: true });
	});

	it('sends at most 20 events a request', () => {
		const page = loadTracker({});
		for (let i = 0; i < 45; i++) page.rt('track', 'Product Viewed', { i });
		page.rt('flush');
		expect(page.sent.map((s) => s.body.batch.length)).toEqual([20, 20, 5]);
	});
});
