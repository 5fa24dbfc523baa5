import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import type { DriverLocation, SqlDriver } from '../store/driver';
import { type JobArgs, type JobName, JOBS, type JobValue } from './jobs';

/** What the main thread sends a job's worker: the job, and where the store is. */
export interface JobRequest {
	location: DriverLocation;
	job: JobName;
	args: unknown;
}

/** What a job's worker answers: each value it yielded, then the end or its error. */
export type JobMessage = { value: unknown } | { done: true } | { error: string };

/** The main thread's answer to a value: taken, send the next. */
export const TAKEN = 'taken';

/**
 * The worker script, beside this module where the package is compiled (as n8n loads it). Run from
 * its TypeScript sources (the in-process tests), the package has none: jobs then run on the calling
 * thread.
 */
const WORKER_FILE = path.join(__dirname, 'worker.js');

const canStartWorkers = existsSync(WORKER_FILE);

/**
 * Jobs that run at once in this process: one processor core stays for n8n's main thread (on two
 * cores, jobs run one after another, in the order they came).
 */
const MAX_RUNNING = Math.max(1, availableParallelism() - 1);

let running = 0;

const waiting: Array<() => void> = [];

async function startTurn(): Promise<void> {
	if (running < MAX_RUNNING) {
		running++;
		return;
	}
	// The job that ends hands its place on (endTurn), so `running` stays as it is.
	await new Promise<void>((resolve) => waiting.push(resolve));
}

function endTurn(): void {
	const next = waiting.shift();
	if (next) next();
	else running--;
}

/**
 * Runs a heavy read (JOBS) in a worker thread of its own, with its own connection to the store,
 * and yields what it yields. Reading a million rows and computing over them holds a thread for
 * seconds, and the garbage collector's pauses grow with what it keeps: on n8n's thread that is
 * time it answers no webhook. The worker sends one value at a time and the next only once this
 * one is taken, so a long list of pages never lands on the event loop at once. A driver without
 * a location (a transaction's) runs the job on the calling thread.
 */
export async function* offThread<N extends JobName>(driver: SqlDriver, job: N, args: JobArgs<N>): AsyncGenerator<JobValue<N>> {
	if (!driver.location || !canStartWorkers) {
		yield* (JOBS[job] as (db: SqlDriver, args: JobArgs<N>) => AsyncGenerator<JobValue<N>>)(driver, args);
		return;
	}
	await startTurn();
	try {
		yield* inWorker(driver.location, job, args);
	} finally {
		endTurn();
	}
}

async function* inWorker<N extends JobName>(location: DriverLocation, job: N, args: JobArgs<N>): AsyncGenerator<JobValue<N>> {
	const request: JobRequest = { location, job, args };
	const worker = new Worker(WORKER_FILE, { workerData: request });
	const inbox: JobMessage[] = [];
	let failure: Error | undefined;
	let wake: (() => void) | undefined;
	worker.on('message', (message: JobMessage) => {
		inbox.push(message);
		wake?.();
	});
	worker.on('error', (error: Error) => {
		failure ??= error;
		wake?.();
	});
	worker.on('exit', (code) => {
		failure ??= new Error(`The worker thread of the store's ${job} job stopped (exit code ${code})`);
		wake?.();
	});
	try {
		for (;;) {
			while (inbox.length === 0 && !failure) await new Promise<void>((resolve) => (wake = resolve));
			const message = inbox.shift();
			if (!message) throw failure;
			if ('error' in message) throw new Error(message.error);
			if ('done' in message) return;
			yield message.value as JobValue<N>;
			worker.postMessage(TAKEN);
		}
	} finally {
		await worker.terminate();
	}
}

/** The one value of a job that yields one (a report, a model fit). */
export async function offThreadResult<N extends JobName>(driver: SqlDriver, job: N, args: JobArgs<N>): Promise<JobValue<N>> {
	for await (const value of offThread(driver, job, args)) return value;
	throw new Error(`The store's ${job} job gave no result`);
}
