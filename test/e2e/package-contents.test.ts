import { readFileSync } from 'node:fs';

import { run } from '../harness/exec.ts';

/** What a user gets from the registry: the tarball `npm pack` made in the e2e set-up. */
describe('the packed package', () => {
	let files: string[];
	const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
		n8n: { nodes: string[]; credentials: string[] };
	};

	beforeAll(async () => {
		const tarball = process.env.RETARGETING_TARBALL;
		if (!tarball) throw new Error('RETARGETING_TARBALL is not set: run through jest (npm test)');
		files = (await run('tar', ['-tzf', tarball], { quiet: true }))
			.split('\n')
			.filter(Boolean)
			.map((entry) => entry.replace(/^package\//, ''));
	});

	it('holds the compiled nodes and credentials that package.json declares, with codex and icons', () => {
		for (const declared of [...manifest.n8n.nodes, ...manifest.n8n.credentials]) {
			expect(files).toContain(declared);
		}
		for (const node of manifest.n8n.nodes) expect(files).toContain(`${node}on`);
		expect(files).toEqual(expect.arrayContaining(['dist/icons/retargeting.svg', 'dist/icons/retargeting.dark.svg']));
	});

	it('ships the workflow templates and the README', () => {
		expect(files.filter((f) => f.startsWith('workflows/')).length).toBeGreaterThan(0);
		expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json']));
	});

	it('leaves out tests, sources, scripts and build leftovers', () => {
		const stray = files.filter(
			(f) =>
				!f.startsWith('dist/') && !f.startsWith('workflows/') && !['README.md', 'LICENSE', 'package.json', 'CHANGELOG.md'].includes(f),
		);
		expect(stray).toEqual([]);
		expect(files.filter((f) => /(^|\/)test\/|\.test\.|\.tsbuildinfo$|^dist\/.*\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
	});
});
