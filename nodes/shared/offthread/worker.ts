/**
 * The worker thread of offThread: opens its own connection to the store (WAL lets it read beside
 * n8n's writes), runs one job and posts what it yields, each value once the main thread has taken
 * the one before; then the end, or the job's error. The main thread ends the worker.
 */
import { readlinkSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';

import type { DriverLocation, SqlDriver } from '../store/driver';
import { PostgresDriver } from '../store/postgres-driver';
import { SqliteDriver } from '../store/sqlite-driver';
import { JOBS } from './jobs';
import { type JobMessage, type JobRequest, TAKEN } from './run';

/**
 * Linux schedules each thread on its own: this one steps back to the lowest priority, so that n8n's
 * main thread, which answers webhooks, gets the processor first when both want it. Where threads
 * cannot be told apart (no /proc/thread-self), the worker keeps the process's priority.
 */
function stepBack(): void {
	try {
		setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), constants.priority.PRIORITY_LOW);
	} catch {
		// Not Linux: nothing to do.
	}
}

function open(location: DriverLocation): SqlDriver {
	return location.dialect === 'sqlite' ? new SqliteDriver(location.file) : new PostgresDriver(location.options);
}

async function main(port: NonNullable<typeof parentPort>, { location, job, args }: JobRequest): Promise<void> {
	const post = (message: JobMessage) => port.postMessage(message);
	let taken: () => void = () => undefined;
	port.on('message', (message) => {
		if (message === TAKEN) taken();
	});
	const db = open(location);
	let end: JobMessage = { done: true };
	try {
		let previous: Promise<void> = Promise.resolve();
		// The next value is computed while the main thread takes the one before.
		for await (const value of (JOBS[job] as (db: SqlDriver, args: unknown) => AsyncGenerator<unknown>)(db, args)) {
			await previous;
			previous = new Promise((resolve) => (taken = resolve));
			post({ value });
		}
		await previous;
	} catch (error) {
		end = { error: error instanceof Error ? error.message : String(error) };
	}
	await db.close();
	post(end);
}

if (parentPort) {
	stepBack();
	void main(parentPort, workerData as JobRequest);
}
