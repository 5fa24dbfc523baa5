import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';

import { N8nInstance, type Owner } from './n8n.ts';
import { installPackageInto } from './package-install.ts';
import { repoRoot } from './paths.ts';

export const TEST_OWNER: Owner = {
	email: 'owner@retargeting.test',
	password: `Harness-${randomBytes(6).toString('hex')}-1`,
	firstName: 'Test',
	lastName: 'Owner',
};

/**
 * A fresh n8n for one test file: a new user folder with the packed package installed as a
 * community package, the owner set up and an API key ready. Call `stop()` in afterAll.
 */
export async function startTestInstance(): Promise<N8nInstance & { dispose(): Promise<void> }> {
	const tarball = process.env.RETARGETING_TARBALL;
	if (!tarball) throw new Error('RETARGETING_TARBALL is not set: run the e2e tests through jest (npm test)');
	const runs = path.join(repoRoot(), '.test-runs');
	const userFolder = mkdtempSync(path.join(runs, 'n8n-'));
	await installPackageInto(userFolder, tarball);
	const n8n = await N8nInstance.start({ userFolder });
	await n8n.setupOwner(TEST_OWNER);
	await n8n.createApiKey();
	return Object.assign(n8n, {
		async dispose() {
			await n8n.stop();
			// RETARGETING_KEEP_RUNS=1 keeps the user folder (n8n.log, database) to look into a failure.
			if (!process.env.RETARGETING_KEEP_RUNS) rmSync(userFolder, { recursive: true, force: true });
		},
	});
}
