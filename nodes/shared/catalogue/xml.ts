import { FeedError } from './errors';

/** Google's namespace for product attributes in RSS feeds (`xmlns:g`). */
export const GOOGLE_NS = 'http://base.google.com/ns/1.0';

/** One `<item>` of an RSS feed: the text of each of its child elements, with the line it starts on. */
export interface XmlItem {
	line: number;
	/** Child elements in the Google namespace (`<g:price>`), by local name. */
	google: Map<string, string>;
	/** Child elements in no namespace (RSS's own `<title>`, `<link>`, `<description>`), by name. */
	plain: Map<string, string>;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** XML's five entities and character references; anything else (a DTD's entity) stays as written. */
export function decodeEntities(text: string): string {
	if (!text.includes('&')) return text;
	return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, name: string) => {
		if (name[0] !== '#') return ENTITIES[name] ?? whole;
		const code = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
		return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
	});
}

interface Open {
	name: string;
	line: number;
	/** Namespace prefixes this element declares (`''` the default namespace). */
	declares: Map<string, string> | undefined;
}

/**
 * The `<item>` elements of an RSS 2.0 feed, read in one pass without building a tree: enough XML
 * for product feeds (namespaces, entities, CDATA, comments, processing instructions, a DOCTYPE).
 * Text inside an item's child is kept; grandchildren (`<g:shipping><g:country>`) are not read.
 * Badly nested or unclosed elements are an error of the whole file.
 */
export function* xmlItems(text: string): Generator<XmlItem> {
	const stack: Open[] = [];
	let lineAt = 0;
	let line = 1;
	/** The line of position `pos`; positions are asked for in increasing order. */
	const lineOf = (pos: number): number => {
		for (let at = text.indexOf('\n', lineAt); at >= 0 && at < pos; at = text.indexOf('\n', at + 1)) line++;
		lineAt = Math.max(lineAt, pos);
		return line;
	};
	let item: XmlItem | undefined;
	let itemDepth = -1;
	let child: { namespace: string | undefined; name: string; text: string } | undefined;
	let seenRoot = false;
	let i = 0;
	for (;;) {
		const lt = text.indexOf('<', i);
		const textEnd = lt < 0 ? text.length : lt;
		if (child && stack.length === itemDepth + 2 && textEnd > i) child.text += decodeEntities(text.slice(i, textEnd));
		if (lt < 0) break;
		if (text.startsWith('<!--', lt)) {
			i = after(text, '-->', lt, lineOf, 'a comment');
		} else if (text.startsWith('<![CDATA[', lt)) {
			const end = after(text, ']]>', lt, lineOf, 'a CDATA section');
			if (child && stack.length === itemDepth + 2) child.text += text.slice(lt + 9, end - 3);
			i = end;
		} else if (text.startsWith('<?', lt)) {
			i = after(text, '?>', lt, lineOf, 'a processing instruction');
		} else if (text.startsWith('<!', lt)) {
			// A DOCTYPE, with its internal subset in brackets when it has one.
			const bracket = text.indexOf('[', lt);
			const close = text.indexOf('>', lt);
			i = bracket >= 0 && bracket < close ? after(text, ']>', lt, lineOf, 'a DOCTYPE') : after(text, '>', lt, lineOf, 'a DOCTYPE');
		} else if (text[lt + 1] === '/') {
			const close = text.indexOf('>', lt);
			if (close < 0) throw new FeedError('an end tag is never closed', lineOf(lt));
			const name = text.slice(lt + 2, close).trim();
			const open = stack.pop();
			if (!open) throw new FeedError(`</${name}> closes nothing`, lineOf(lt));
			if (open.name !== name) throw new FeedError(`</${name}> closes <${open.name}> of line ${open.line}`, lineOf(lt));
			if (child && stack.length === itemDepth + 1) {
				if (item) keep(item, child);
				child = undefined;
			}
			if (item && stack.length === itemDepth) {
				yield item;
				item = undefined;
				itemDepth = -1;
			}
			i = close + 1;
		} else {
			const close = tagEnd(text, lt);
			if (close < 0) throw new FeedError('a tag is never closed', lineOf(lt));
			const selfClosing = text[close - 1] === '/';
			const tag = text.slice(lt + 1, selfClosing ? close - 1 : close);
			const name = /^[^\s/>]+/.exec(tag)?.[0];
			if (!name) throw new FeedError('a tag without a name', lineOf(lt));
			if (stack.length === 0 && seenRoot) throw new FeedError(`<${name}> after the end of the document`, lineOf(lt));
			seenRoot = true;
			const open: Open = { name, line: lineOf(lt), declares: namespaceDeclarations(tag) };
			stack.push(open);
			const { prefix, local } = split(name);
			const namespace = resolve(stack, prefix);
			if (!item && local === 'item' && namespace !== GOOGLE_NS) {
				item = { line: open.line, google: new Map(), plain: new Map() };
				itemDepth = stack.length - 1;
			} else if (item && stack.length === itemDepth + 2) {
				child = { namespace, name: local, text: '' };
			}
			if (selfClosing) {
				stack.pop();
				if (child && stack.length === itemDepth + 1) {
					keep(item as XmlItem, child);
					child = undefined;
				}
				if (item && stack.length === itemDepth) {
					yield item;
					item = undefined;
					itemDepth = -1;
				}
			}
			i = close + 1;
		}
	}
	const open = stack.pop();
	if (open) throw new FeedError(`<${open.name}> is never closed`, open.line);
	if (!seenRoot) throw new FeedError('no XML element found');
}

function keep(item: XmlItem, child: { namespace: string | undefined; name: string; text: string }): void {
	const target = child.namespace === GOOGLE_NS ? item.google : child.namespace === undefined ? item.plain : undefined;
	// The first of repeated elements counts (a second <g:image_link> would be an additional image).
	if (target && !target.has(child.name)) target.set(child.name, child.text);
}

/** The position just after `end`, searched from `from`; an error naming `what` when it never comes. */
function after(text: string, end: string, from: number, lineOf: (pos: number) => number, what: string): number {
	const at = text.indexOf(end, from);
	if (at < 0) throw new FeedError(`${what} is never closed`, lineOf(from));
	return at + end.length;
}

/** The `>` that ends the start tag at `lt`, skipping quoted attribute values. */
function tagEnd(text: string, lt: number): number {
	let quote: string | undefined;
	for (let i = lt + 1; i < text.length; i++) {
		const c = text[i];
		if (quote) {
			if (c === quote) quote = undefined;
		} else if (c === '"' || c === "'") quote = c;
		else if (c === '>') return i;
	}
	return -1;
}

function namespaceDeclarations(tag: string): Map<string, string> | undefined {
	if (!tag.includes('xmlns')) return undefined;
	const declares = new Map<string, string>();
	for (const match of tag.matchAll(/\sxmlns(?::([^\s=]+))?\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
		declares.set(match[1] ?? '', decodeEntities(match[2] ?? match[3]));
	}
	return declares;
}

function split(name: string): { prefix: string; local: string } {
	const colon = name.indexOf(':');
	return colon < 0 ? { prefix: '', local: name } : { prefix: name.slice(0, colon), local: name.slice(colon + 1) };
}

/** The namespace a prefix stands for at the top of the stack; undefined for no namespace. */
function resolve(stack: Open[], prefix: string): string | undefined {
	for (let i = stack.length - 1; i >= 0; i--) {
		const uri = stack[i].declares?.get(prefix);
		if (uri !== undefined) return uri === '' ? undefined : uri;
	}
	if (prefix === '') return undefined;
	// Feeds written by hand often use g: without declaring it; any other undeclared prefix is not ours.
	return prefix === 'g' ? GOOGLE_NS : `undeclared:${prefix}`;
}
