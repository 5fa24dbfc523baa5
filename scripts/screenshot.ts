/**
 * `npm run screenshot`: with `npm start` running, takes the README's pictures of the editor in
 * Debian's Chromium: the node panel showing this package's nodes, and each ready-made workflow.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { launchBrowser, openWorkflow, searchNodePanel, signedInPage } from '../test/harness/editor.ts';
import type { Owner } from '../test/harness/n8n.ts';
import { repoRoot } from '../test/harness/paths.ts';

const root = repoRoot();
const baseUrl = process.env.RETARGETING_EDITOR_URL ?? `http://localhost:${process.env.N8N_PORT ?? 5678}`;
const dataDir = path.resolve(process.env.RETARGETING_DATA_DIR ?? path.join(root, '.n8n-data'));
const outDir = path.join(root, 'docs', 'screenshots');

async function main(): Promise<void> {
	const ready = await fetch(`${baseUrl}/healthz/readiness`).catch(() => undefined);
	if (!ready?.ok) throw new Error(`no n8n answers at ${baseUrl}: run \`npm start\` first, in another terminal`);
	const owner = JSON.parse(readFileSync(path.join(dataDir, 'owner.json'), 'utf8')) as Owner;
	mkdirSync(outDir, { recursive: true });
	const browser = await launchBrowser();
	try {
		const page = await signedInPage(browser, baseUrl, owner);
		const { id: firstTemplate } = JSON.parse(
			readFileSync(path.join(root, 'workflows', 'collect-tracking-events.json'), 'utf8'),
		) as { id: string };
		const listed = await searchNodePanel(page, baseUrl, 'Retargeting', firstTemplate);
		if (!listed.includes('Retargeting Profile') || !listed.includes('Segment Filter')) throw new Error(`the node panel lists ${listed.join(', ')}`);
		await page.screenshot({ path: path.join(outDir, 'node-panel.png') });
		process.stdout.write(`node panel lists: ${listed.join(', ')} -> docs/screenshots/node-panel.png\n`);

		for (const file of readdirSync(path.join(root, 'workflows')).filter((f) => f.endsWith('.json'))) {
			const { id } = JSON.parse(readFileSync(path.join(root, 'workflows', file), 'utf8')) as { id: string };
			await openWorkflow(page, baseUrl, id);
			const shot = path.join(outDir, file.replace(/\.json$/, '.png'));
			await page.screenshot({ path: shot });
			process.stdout.write(`${file} -> ${path.relative(root, shot)}\n`);
		}
	} finally {
		await browser.close();
	}
}

main().catch((error: unknown) => {
	process.stderr.write(`screenshot failed: ${error instanceof Error ? error.message : String(error)}\n`);
	process.exit(1);
});
