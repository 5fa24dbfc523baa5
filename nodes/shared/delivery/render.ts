import { escapeHtml } from '../html';
import { pathValue } from '../segments/evaluate';

/** What a message template can use: the item's fields, plus the values ESP Send computes. */
export type TemplateValues = Record<string, unknown>;

/** A cart line as the Segment spec and the store name its fields, or a recommended product. */
interface ProductLine {
	name?: unknown;
	productId?: unknown;
	product_id?: unknown;
	price?: unknown;
	currency?: unknown;
	quantity?: unknown;
	url?: unknown;
	imageUrl?: unknown;
	image_url?: unknown;
}

const money = (value: unknown, currency: string) => {
	if (value === null || value === undefined || value === '') return '';
	const n = Number(value);
	if (!Number.isFinite(n)) return '';
	try {
		return new Intl.NumberFormat('en', { style: 'currency', currency: currency || 'EUR' }).format(n);
	} catch {
		return `${n.toFixed(2)} ${currency}`.trim();
	}
};

/** A web link from item data, else '': a javascript: or data: URL must never reach an href or src. */
const webUrl = (value: unknown) => (typeof value === 'string' && /^https?:\/\//i.test(value) ? value : '');

/** Product images in emails: a fixed box, so that the layout holds before the images load (or when they are blocked). */
const IMAGE_SIZE = 96;

/**
 * The items of a cart (or recommended products) as an HTML table and as plain-text lines. With
 * `images`, each line with an http(s) image shows it, linked like the name; a line without a
 * quantity (a recommended product) shows none.
 */
export function productsBlock(
	lines: unknown,
	currency: string,
	options: { images?: boolean; link?: (url: string) => string | undefined } = {},
): { html: string; text: string } {
	const list = (Array.isArray(lines) ? lines : []).filter((line): line is ProductLine => !!line && typeof line === 'object');
	if (list.length === 0) return { html: '', text: '' };
	const rows = list.map((line) => {
		const name = String(line.name ?? line.productId ?? line.product_id ?? '');
		const quantity = line.quantity === undefined || line.quantity === null ? undefined : Number(line.quantity) || 1;
		const lineCurrency = typeof line.currency === 'string' && line.currency ? line.currency : currency;
		return { name, quantity, price: money(line.price, lineCurrency), url: options.link && typeof line.url === 'string' ? (options.link(line.url) ?? '') : webUrl(line.url), image: options.images ? webUrl(line.imageUrl ?? line.image_url) : '' };
	});
	const linked = (url: string, inner: string) => (url ? `<a href="${escapeHtml(url)}">${inner}</a>` : inner);
	const html = [
		'<table role="presentation" cellpadding="6" style="border-collapse:collapse">',
		...rows.map((r) => {
			const image = r.image
				? `<td>${linked(r.url, `<img src="${escapeHtml(r.image)}" width="${IMAGE_SIZE}" height="${IMAGE_SIZE}" alt="${escapeHtml(r.name)}" style="display:block;border:0;object-fit:contain">`)}</td>`
				: '';
			const quantity = r.quantity === undefined ? '' : `<td>× ${r.quantity}</td>`;
			return `<tr>${image}<td>${linked(r.url, escapeHtml(r.name))}</td>${quantity}<td style="text-align:right">${escapeHtml(r.price)}</td></tr>`;
		}),
		'</table>',
	].join('');
	const text = rows
		.map((r) => `- ${r.name}${r.quantity === undefined ? '' : ` × ${r.quantity}`}${r.price ? `  ${r.price}` : ''}${r.url ? `  ${r.url}` : ''}`)
		.join('\n');
	return { html, text };
}

/**
 * Fills `{name}` placeholders (dotted paths into `values`); single braces, because n8n's editor
 * turns a field into an expression as soon as `{{` is typed. In HTML every value is escaped,
 * except the blocks ESP Send builds itself (`blocks`, already safe HTML). Returns the names that
 * had no value, which render as nothing.
 */
export function renderTemplate(
	template: string,
	values: TemplateValues,
	mode: 'html' | 'text',
	blocks: Record<string, { html: string; text: string }> = {},
): { output: string; missing: string[] } {
	const missing: string[] = [];
	const output = template.replace(/\{([\w.-]+)\}/g, (_, name: string) => {
		if (Object.hasOwn(blocks, name)) return blocks[name][mode];
		const value = pathValue(values, name);
		if (value === undefined || value === null || value === '') {
			missing.push(name);
			return '';
		}
		const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
		return mode === 'html' ? escapeHtml(text) : text;
	});
	return { output, missing: [...new Set(missing)] };
}

/** A plain-text part from HTML, for when none is given: tags dropped, links and line breaks kept. */
export function textOfHtml(html: string): string {
	return html
		.replace(/<(style|script)[\s\S]*?<\/\1>/gi, '')
		.replace(/<a\s[^>]*href="([^"]*)"[^>]*>([\s\S]*?)<\/a>/gi, '$2 ($1)')
		.replace(/<br\s*\/?>|<\/(p|div|tr|h[1-6]|li)>/gi, '\n')
		.replace(/<[^>]+>/g, '')
		.replace(/&lt;/g, '<')
		.replace(/&gt;/g, '>')
		.replace(/&quot;/g, '"')
		.replace(/&#39;/g, "'")
		.replace(/&amp;/g, '&')
		.replace(/[ \t]+\n/g, '\n')
		.replace(/\n{3,}/g, '\n\n')
		.trim();
}

/**
 * A link that attribution recognises (undefined for anything but an http(s) URL): utm_source, utm_medium=email, utm_campaign, utm_content (the
 * step) and rt_cid, a click id unique to this message. Parameters the link already has are kept.
 */
export function trackedLink(url: string, tags: { source: string; campaign: string; content?: string; clickId: string }): string | undefined {
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		return undefined;
	}
	// Only web links: a javascript: or data: link from item data must never reach an href.
	if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
	const set = (key: string, value: string | undefined) => {
		if (value && !parsed.searchParams.has(key)) parsed.searchParams.set(key, value);
	};
	set('utm_source', tags.source);
	set('utm_medium', 'email');
	set('utm_campaign', tags.campaign);
	set('utm_content', tags.content);
	parsed.searchParams.set('rt_cid', tags.clickId);
	return parsed.toString();
}
