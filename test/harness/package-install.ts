import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { run } from './exec.ts';
import { repoRoot } from './paths.ts';

/** Packs the built package (`dist/` must be current) as `npm publish` would, and returns the tarball. */
export async function packPackage(destination: string): Promise<string> {
	mkdirSync(destination, { recursive: true });
	const out = await run('npm', ['pack', '--json', '--pack-destination', destination], {
		cwd: repoRoot(),
		quiet: true,
	});
	const [{ filename }] = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string }>;
	return path.join(destination, filename);
}

/**
 * Installs a packed tarball into an n8n user folder the way n8n's own community-package install
 * does (n8n 2.x `CommunityPackagesService.downloadPackage`): extract into
 * `.n8n/nodes/node_modules/<name>`, drop dev, peer and optional dependencies from its manifest,
 * then `npm install` its runtime dependencies with scripts off. n8n then loads its nodes as
 * `<name>.<node>` at start-up.
 */
export async function installPackageInto(userFolder: string, tarball: string): Promise<string> {
	const nodesDir = path.join(userFolder, '.n8n', 'nodes');
	const manifest = JSON.parse(readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as {
		name: string;
		version: string;
	};
	const packageDir = path.join(nodesDir, 'node_modules', manifest.name);
	rmSync(packageDir, { recursive: true, force: true });
	mkdirSync(packageDir, { recursive: true });
	await run('tar', ['-xzf', tarball, '-C', packageDir, '--strip-components=1'], { quiet: true });

	const packageJsonPath = path.join(packageDir, 'package.json');
	const runtimeManifest = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as Record<string, unknown>;
	for (const key of ['devDependencies', 'peerDependencies', 'optionalDependencies']) delete runtimeManifest[key];
	writeFileSync(packageJsonPath, JSON.stringify(runtimeManifest, null, 2));
	await run(
		'npm',
		[
			'install',
			'--audit=false',
			'--fund=false',
			'--bin-links=false',
			'--install-strategy=shallow',
			'--ignore-scripts=true',
			'--package-lock=false',
			'--loglevel=error',
		],
		{ cwd: packageDir, quiet: true },
	);
	writeFileSync(
		path.join(nodesDir, 'package.json'),
		JSON.stringify(
			{ name: 'installed-nodes', private: true, dependencies: { [manifest.name]: manifest.version } },
			null,
			2,
		),
	);
	return packageDir;
}
