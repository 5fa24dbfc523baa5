import { spawn, type SpawnOptions } from 'node:child_process';

/** Runs a command to completion; rejects with its captured output when it fails. */
export async function run(
	command: string,
	args: string[],
	options: SpawnOptions & { quiet?: boolean } = {},
): Promise<string> {
	return await new Promise((resolve, reject) => {
		const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
		let output = '';
		const collect = (chunk: Buffer) => {
			output += chunk.toString();
			if (!options.quiet) process.stderr.write(chunk);
		};
		child.stdout?.on('data', collect);
		child.stderr?.on('data', collect);
		child.on('error', reject);
		child.on('close', (code, signal) => {
			if (code === 0) resolve(output);
			else
				reject(
					new Error(
						`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output.slice(-4000)}`,
					),
				);
		});
	});
}
