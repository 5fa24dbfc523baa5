import path from 'node:path';

import { ensureN8nRuntime } from './n8n-runtime.ts';
import { packPackage } from './package-install.ts';
import { repoRoot } from './paths.ts';

/**
 * Once per e2e run: make sure n8n is installed (the first run installs it; later runs reuse the
 * cache) and pack the built package, as a user would get it from the registry.
 */
export default async function globalSetup(): Promise<void> {
	await ensureN8nRuntime();
	process.env.RETARGETING_TARBALL = await packPackage(path.join(repoRoot(), '.test-runs', 'package'));
}
