import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

const PACKAGE_NAME = 'n8n-nodes-retargeting';

/**
 * The checkout's root. npm runs every script, and jest every test, from the package root, so the
 * working directory is it; checked so that a run from elsewhere fails clearly.
 */
export function repoRoot(): string {
	const root = process.cwd();
	const manifest = path.join(root, 'package.json');
	if (!existsSync(manifest) || JSON.parse(readFileSync(manifest, 'utf8')).name !== PACKAGE_NAME) {
		throw new Error(`Run this from the ${PACKAGE_NAME} checkout (through npm), not from ${root}`);
	}
	return root;
}

/** Where installs that outlive a checkout are kept: n8n itself (about 2.8 GB). */
export function cacheDir(): string {
	return process.env.RETARGETING_CACHE_DIR ?? path.join(homedir(), '.cache', PACKAGE_NAME);
}

/** The directory of the Node.js that runs us, and its root (which holds include/node for node-gyp). */
export function nodeRuntime(): { binDir: string; root: string; major: number } {
	const major = Number(process.versions.node.split('.')[0]);
	const binDir = path.dirname(process.execPath);
	return { binDir, root: path.dirname(binDir), major };
}
