import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The documentation's links lead somewhere: every relative link, `#anchor` and image in README.md,
 * CHANGELOG.md and docs/**\/*.md, and every documentation URL of a node's codex or a credential that
 * points into this repository (the editor's "Docs" links).
 */

const ROOT = path.resolve(__dirname, '../..');

/** This repository on GitHub: its home page shows README.md, `/blob/main/<path>` any file. */
const REPO = 'https://github.com/n8n-nodes-retargeting/n8n-nodes-retargeting';

function markdownFiles(dir: string): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
		const full = path.join(dir, entry.name);
		if (entry.isDirectory()) return markdownFiles(full);
		return entry.name.endsWith('.md') ? [full] : [];
	});
}

const isFile = (file: string) => statSync(file, { throwIfNoEntry: false })?.isFile() === true;
const exists = (file: string) => statSync(file, { throwIfNoEntry: false }) !== undefined;

/** The lines of a Markdown text outside fenced code blocks, with inline code blanked out. */
function proseLines(markdown: string): string[] {
	let fence: string | undefined;
	const lines: string[] = [];
	for (const line of markdown.split('\n')) {
		const opening = /^\s*(`{3,}|~{3,})/.exec(line);
		if (opening && (!fence || opening[1].startsWith(fence))) {
			fence = fence ? undefined : opening[1];
			continue;
		}
		if (!fence) lines.push(line);
	}
	return lines;
}

const withoutInlineCode = (line: string) => line.replace(/(`+)[\s\S]*?\1/g, (code) => ' '.repeat(code.length));

/**
 * GitHub's anchor for a heading (github-slugger): the heading's text, lower-cased, without
 * punctuation (letters, digits, spaces, hyphens and underscores stay), each space a hyphen.
 */
function slug(heading: string): string {
	const text = heading
		.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link or image: its text
		.replace(/<[^>]+>/g, ''); // HTML tags
	return text
		.trim()
		.toLowerCase()
		.replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '')
		.replace(/\s/g, '-');
}

/** The anchors a Markdown file offers: its headings (a repeated one gets -1, -2, ...) and `<a id>`/`<a name>`. */
function anchorsOf(markdown: string): Set<string> {
	const anchors = new Set<string>();
	const seen = new Map<string, number>();
	for (const line of proseLines(markdown)) {
		const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
		if (heading) {
			const base = slug(heading[1]);
			const count = seen.get(base) ?? 0;
			seen.set(base, count + 1);
			anchors.add(count === 0 ? base : `${base}-${count}`);
		}
		for (const html of line.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(html[1]);
	}
	return anchors;
}

interface Link {
	target: string;
	image: boolean;
}

/** The links and images of a Markdown text: inline, reference definitions and HTML `href`/`src`. */
function linksOf(markdown: string): Link[] {
	const links: Link[] = [];
	for (const raw of proseLines(markdown)) {
		const line = withoutInlineCode(raw);
		for (const m of line.matchAll(/(!?)\[(?:[^[\]]|\[[^[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) {
			links.push({ target: m[2], image: m[1] === '!' });
		}
		const definition = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(line);
		if (definition) links.push({ target: definition[1], image: false });
		for (const m of line.matchAll(/<(img|a)\s[^>]*\b(?:src|href)="([^"]+)"/g)) links.push({ target: m[2], image: m[1] === 'img' });
	}
	return links;
}

/**
 * The file and anchor a link leads to, or undefined for a link out of this repository (checked by
 * nobody here). A URL of this repository maps to its file: the home page to README.md.
 */
function destination(target: string, fromFile: string): { file: string; anchor?: string } | undefined {
	const [address, anchor] = target.split('#', 2) as [string, string | undefined];
	if (address.startsWith(REPO)) {
		const inRepo = /^(?:\/(?:blob|tree)\/main\/(.*))?\/?$/.exec(address.slice(REPO.length));
		// Another page of the repository on GitHub (issues, releases, ...): not a file of this checkout.
		if (!inRepo) return undefined;
		return { file: path.join(ROOT, decodeURIComponent(inRepo[1] ?? 'README.md')), anchor };
	}
	if (/^[a-z][a-z0-9+.-]*:/i.test(address) || address.startsWith('//')) return undefined;
	return { file: address ? path.resolve(path.dirname(fromFile), decodeURIComponent(address)) : fromFile, anchor };
}

/** Why a link is broken, or undefined when it leads somewhere. */
function problemOf(link: Link, fromFile: string): string | undefined {
	const to = destination(link.target, fromFile);
	if (!to) return undefined;
	const shown = path.relative(ROOT, to.file);
	if (link.image ? !isFile(to.file) : !exists(to.file)) return `${link.target}: ${shown} does not exist`;
	if (to.anchor === undefined || !to.file.endsWith('.md')) return undefined;
	if (!anchorsOf(readFileSync(to.file, 'utf8')).has(to.anchor)) return `${link.target}: ${shown} has no heading #${to.anchor}`;
	return undefined;
}

/** Every broken link of one Markdown file. */
function brokenLinks(file: string): string[] {
	return linksOf(readFileSync(file, 'utf8'))
		.map((link) => problemOf(link, file))
		.filter((problem): problem is string => problem !== undefined);
}

/** The editor's documentation links: each node codex's primaryDocumentation and each credential's documentationUrl. */
function documentationUrls(): Array<{ source: string; url: string }> {
	const nodes = readdirSync(path.join(ROOT, 'nodes'))
		.map((folder) => path.join(ROOT, 'nodes', folder, `${folder}.node.json`))
		.filter(isFile)
		.flatMap((codex) => {
			const { resources } = JSON.parse(readFileSync(codex, 'utf8')) as { resources?: { primaryDocumentation?: Array<{ url: string }> } };
			return (resources?.primaryDocumentation ?? []).map(({ url }) => ({ source: path.relative(ROOT, codex), url }));
		});
	const credentials = readdirSync(path.join(ROOT, 'credentials'))
		.map((name) => path.join(ROOT, 'credentials', name))
		.flatMap((file) =>
			[...readFileSync(file, 'utf8').matchAll(/documentationUrl\s*=\s*['"]([^'"]+)['"]/g)].map((m) => ({ source: path.relative(ROOT, file), url: m[1] })),
		);
	return [...nodes, ...credentials];
}

const pages = [path.join(ROOT, 'README.md'), path.join(ROOT, 'CHANGELOG.md'), ...markdownFiles(path.join(ROOT, 'docs'))];

describe('documentation links', () => {
	it.each(pages.map((file) => [path.relative(ROOT, file), file]))('%s: every relative link, anchor and image leads somewhere', (_name, file) => {
		expect(brokenLinks(file)).toEqual([]);
	});

	it("every node's codex links to its documentation in this repository", () => {
		const codexes = readdirSync(path.join(ROOT, 'nodes')).filter((folder) => isFile(path.join(ROOT, 'nodes', folder, `${folder}.node.json`)));
		const documented = new Set(documentationUrls().filter(({ url }) => url.startsWith(`${REPO}/blob/main/docs/`)).map(({ source }) => source));
		expect(codexes.filter((folder) => !documented.has(`nodes/${folder}/${folder}.node.json`))).toEqual([]);
	});

	it('every ready-made workflow has its page, with its screenshot, linked from the README', () => {
		const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
		const missing = readdirSync(path.join(ROOT, 'workflows'))
			.filter((file) => file.endsWith('.json'))
			.map((file) => file.replace(/\.json$/, ''))
			.flatMap((name) => {
				const page = path.join(ROOT, 'docs', 'workflows', `${name}.md`);
				if (!isFile(page)) return [`docs/workflows/${name}.md is missing`];
				return [
					...(readFileSync(page, 'utf8').includes(`](../screenshots/${name}.png)`) ? [] : [`docs/workflows/${name}.md shows no ../screenshots/${name}.png`]),
					...(readme.includes(`](docs/workflows/${name}.md)`) ? [] : [`README.md does not link docs/workflows/${name}.md`]),
				];
			});
		expect(missing).toEqual([]);
	});

	const intoThisRepository = documentationUrls().filter(({ url }) => url.startsWith(REPO));
	it.each(intoThisRepository.map(({ source, url }) => [source, url]))('%s: %s leads somewhere', (source, url) => {
		expect(problemOf({ target: url, image: false }, path.join(ROOT, source)) ?? 'ok').toBe('ok');
	});

	describe('the checker', () => {
		it("makes GitHub's heading anchors", () => {
			expect(slug("Running at scale: n8n's queue mode")).toBe('running-at-scale-n8ns-queue-mode');
			expect(slug('From the browser: tracker.js')).toBe('from-the-browser-trackerjs');
			expect(slug('**ESP Send**: `rt_sends` & [the store](store.md)')).toBe('esp-send-rt_sends--the-store');
			expect(slug('[0.1.0]')).toBe('010');
			expect([...anchorsOf('# Store\n## Store\n```\n# not a heading\n```\n## Store\n<a id="kept"></a>')]).toEqual(['store', 'store-1', 'store-2', 'kept']);
		});

		it('finds a missing file, a missing anchor, a missing image and a wrong repository URL', () => {
			const dir = mkdtempSync(path.join(tmpdir(), 'docs-links-'));
			try {
				writeFileSync(path.join(dir, 'target.md'), '# Target\n## Known heading\n');
				const page = path.join(dir, 'page.md');
				writeFileSync(
					page,
					[
						'[fine](target.md#known-heading) [fine too](#here) [outside](https://example.com/x#y) `[in code](nowhere.md)`',
						'## Here',
						'[gone](missing.md) [bad anchor](target.md#unknown) ![no picture](missing.png)',
						`[repo](${REPO}/blob/main/docs/no-such-page.md)`,
						'```',
						'[in a code block](nowhere.md)',
						'```',
					].join('\n'),
				);
				expect(brokenLinks(page)).toEqual([
					'missing.md: ' + path.relative(ROOT, path.join(dir, 'missing.md')) + ' does not exist',
					'target.md#unknown: ' + path.relative(ROOT, path.join(dir, 'target.md')) + ' has no heading #unknown',
					'missing.png: ' + path.relative(ROOT, path.join(dir, 'missing.png')) + ' does not exist',
					`${REPO}/blob/main/docs/no-such-page.md: docs/no-such-page.md does not exist`,
				]);
			} finally {
				rmSync(dir, { recursive: true, force: true });
			}
		});
	});
});
