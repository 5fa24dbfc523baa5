import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { run } from '../harness/exec.ts';

/**
 * What the tarball may weigh. Measured 2026-12-05: 171,104 bytes (293 files) once the README's
 * screenshots (dist/docs, 1.1 MB of PNG that `n8n-node build` copies from docs/) and the source
 * maps (which point at .ts sources the package does not ship) were left out; 1,328,618 bytes before.
 */
const TARBALL_BUDGET_BYTES = 300_000;

/** Paths that are test material, wherever they sit. */
const TEST_MATERIAL = /(^|\/)(test|tests|__tests__|__mocks__|fixtures|__fixtures__)\/|\.(test|spec)\.[cm]?[jt]s$|\.test-runs\//;

/** The `{ light, dark }` icon a compiled node or credential file declares, as package paths. */
function declaredIcon(file: string, source: string): { light: string; dark: string } {
	const match = /icon\s*[:=]\s*\{\s*light:\s*'file:([^']+)',\s*dark:\s*'file:([^']+)'\s*\}/.exec(source);
	if (!match) throw new Error(`${file} declares no { light, dark } file icon`);
	const resolve = (relative: string) => path.posix.normalize(path.posix.join(path.posix.dirname(file), relative));
	return { light: resolve(match[1]), dark: resolve(match[2]) };
}

/** What a user gets from the registry: the tarball `npm pack` made in the e2e set-up. */
describe('the packed package', () => {
	let tarball: string;
	let files: string[];
	const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
		n8n: { nodes: string[]; credentials: string[] };
	};
	/** A file's text as the tarball holds it. */
	const packed = async (file: string) => await run('tar', ['-xzOf', tarball, `package/${file}`], { quiet: true });

	beforeAll(async () => {
		const fromSetup = process.env.RETARGETING_TARBALL;
		if (!fromSetup) throw new Error('RETARGETING_TARBALL is not set: run through jest (npm test)');
		tarball = fromSetup;
		files = (await run('tar', ['-tzf', tarball], { quiet: true }))
			.split('\n')
			.filter(Boolean)
			.map((entry) => entry.replace(/^package\//, ''));
	});

	it('holds the compiled nodes and credentials that package.json declares, with their codex', () => {
		for (const declared of [...manifest.n8n.nodes, ...manifest.n8n.credentials]) {
			expect(files).toContain(declared);
		}
		for (const node of manifest.n8n.nodes) expect(files).toContain(`${node}on`);
	});

	it('gives each node its own icon, light and dark, and ships every icon a node or credential declares', async () => {
		const nodeIcons = new Map<string, { light: string; dark: string }>();
		for (const node of manifest.n8n.nodes) nodeIcons.set(node, declaredIcon(node, await packed(node)));
		const credentialIcons = await Promise.all(
			manifest.n8n.credentials.map(async (credential) => declaredIcon(credential, await packed(credential))),
		);

		for (const { light, dark } of [...nodeIcons.values(), ...credentialIcons]) {
			expect(light).toMatch(/^dist\/icons\/.+\.svg$/);
			expect(dark).toMatch(/^dist\/icons\/.+\.dark\.svg$/);
			expect(files).toEqual(expect.arrayContaining([light, dark]));
		}
		// One glyph per node: on the canvas a workflow is not a row of identical pictures.
		const lights = [...nodeIcons.values()].map(({ light }) => light);
		expect(new Set(lights).size).toBe(manifest.n8n.nodes.length);
		for (const { light } of nodeIcons.values()) {
			expect(await packed(light)).toMatch(/^<svg [^>]*viewBox="0 0 60 60"/);
		}
	});

	it('ships the workflow templates and the README', () => {
		expect(files.filter((f) => f.startsWith('workflows/')).length).toBeGreaterThan(0);
		expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json']));
	});

	it('leaves out tests, screenshots, sources, scripts and build leftovers', () => {
		const stray = files.filter(
			(f) =>
				!/^dist\/(nodes|credentials|icons)\//.test(f) &&
				!f.startsWith('workflows/') &&
				!['README.md', 'LICENSE', 'package.json', 'CHANGELOG.md'].includes(f),
		);
		expect(stray).toEqual([]);
		expect(files.filter((f) => f.endsWith('.png'))).toEqual([]);
		expect(files.filter((f) => TEST_MATERIAL.test(f))).toEqual([]);
		expect(files.filter((f) => /\.tsbuildinfo$|\.js\.map$|^dist\/.*\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
	});

	it(`weighs under ${TARBALL_BUDGET_BYTES / 1000} KB`, () => {
		expect(statSync(tarball).size).toBeLessThan(TARBALL_BUDGET_BYTES);
	});
});
