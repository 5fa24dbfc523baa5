/**
 * `npm start`: the main job. A real n8n with this package installed as a community package and the
 * ready-made workflows imported, on the embedded store, at http://localhost:5678. Ctrl-C stops it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';

import { N8nInstance, type Owner, type StartOptions } from '../test/harness/n8n.ts';
import { installPackageInto, packPackage } from '../test/harness/package-install.ts';
import { repoRoot } from '../test/harness/paths.ts';

const root = repoRoot();
const userFolder = path.resolve(process.env.RETARGETING_DATA_DIR ?? path.join(root, '.n8n-data'));
const port = Number(process.env.N8N_PORT ?? 5678);
const options: StartOptions = {
	userFolder,
	port,
	listenAddress: process.env.N8N_LISTEN_ADDRESS ?? '127.0.0.1',
	output: 'inherit',
};

function say(message: string): void {
	process.stdout.write(`\n[retargeting] ${message}\n`);
}

/** The owner account of this data folder: made once with a random password, kept beside n8n's data. */
function ownerAccount(): Owner {
	const file = path.join(userFolder, 'owner.json');
	if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Owner;
	const owner: Owner = {
		email: process.env.RETARGETING_OWNER_EMAIL ?? 'admin@retargeting.local',
		password: `Rt-${randomBytes(9).toString('base64url')}9`,
		firstName: 'Retargeting',
		lastName: 'Admin',
	};
	writeFileSync(file, JSON.stringify(owner, null, 2), { mode: 0o600 });
	return owner;
}

/**
 * Imports the ready-made workflows this data folder has not seen yet. A template is imported once,
 * so later starts keep the edits made to it in the editor.
 */
async function importNewTemplates(): Promise<string[]> {
	const ledger = path.join(userFolder, 'imported-templates.json');
	const seen = new Set<string>(existsSync(ledger) ? (JSON.parse(readFileSync(ledger, 'utf8')) as string[]) : []);
	const templatesDir = path.join(root, 'workflows');
	const fresh = readdirSync(templatesDir)
		.filter((file) => file.endsWith('.json'))
		.map((file) => ({ file, id: (JSON.parse(readFileSync(path.join(templatesDir, file), 'utf8')) as { id: string }).id }))
		.filter(({ id }) => !seen.has(id));
	if (fresh.length === 0) return [];
	const staging = mkdtempSync(path.join(userFolder, 'import-'));
	try {
		for (const { file } of fresh) copyFileSync(path.join(templatesDir, file), path.join(staging, file));
		await N8nInstance.cli(options, ['import:workflow', '--separate', `--input=${staging}`]);
	} finally {
		rmSync(staging, { recursive: true, force: true });
	}
	for (const { id } of fresh) seen.add(id);
	writeFileSync(ledger, JSON.stringify([...seen], null, 2));
	return fresh.map(({ file }) => file);
}

async function main(): Promise<void> {
	mkdirSync(userFolder, { recursive: true });
	say('packing the package and installing it into n8n as a community package');
	const tarball = await packPackage(path.join(userFolder, 'package'));
	await installPackageInto(userFolder, tarball);
	const imported = await importNewTemplates();
	if (imported.length) say(`imported workflows: ${imported.join(', ')}`);

	say(`starting n8n (data in ${userFolder})`);
	const n8n = await N8nInstance.start(options);
	const owner = ownerAccount();
	await n8n.setupOwner(owner);

	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		say('stopping n8n');
		await n8n.stop();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop());
	process.on('SIGTERM', () => void stop());
	n8n.onExit(() => {
		if (!stopping) {
			say('n8n exited');
			process.exit(1);
		}
	});

	say(
		[
			`n8n ${n8n.runtime.version} is ready with n8n-nodes-retargeting installed.`,
			`  Editor:   ${n8n.baseUrl}`,
			`  Email:    ${owner.email}`,
			`  Password: ${owner.password}   (kept in ${path.join(userFolder, 'owner.json')})`,
			'Press Ctrl-C to stop.',
		].join('\n'),
	);
}

main().catch((error: unknown) => {
	process.stderr.write(`\n[retargeting] npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
	process.exit(1);
});
