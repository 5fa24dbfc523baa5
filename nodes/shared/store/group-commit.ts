import type { SqlDriver } from './driver';

interface Waiting<I, O> {
	input: I;
	resolve: (output: O) => void;
	reject: (error: unknown) => void;
}

/**
 * Joins the calls that arrive while a transaction runs into the next transaction, so that under
 * concurrent ingestion N requests cost one commit instead of N (a commit is most of an append's
 * cost on SQLite). Each call still gets its own result. When a joint transaction fails, its calls
 * are retried one transaction each, so one failing call cannot fail the others.
 */
export class GroupCommit<I, O> {
	private readonly driver: SqlDriver;

	private readonly work: (tx: SqlDriver, input: I) => Promise<O>;

	private readonly maxCalls: number;

	private waiting: Array<Waiting<I, O>> = [];

	private running = false;

	constructor(driver: SqlDriver, work: (tx: SqlDriver, input: I) => Promise<O>, maxCalls = 50) {
		this.driver = driver;
		this.work = work;
		this.maxCalls = maxCalls;
	}

	async run(input: I): Promise<O> {
		return await new Promise<O>((resolve, reject) => {
			this.waiting.push({ input, resolve, reject });
			if (!this.running) void this.drain();
		});
	}

	private async drain(): Promise<void> {
		this.running = true;
		while (this.waiting.length > 0) {
			const group = this.waiting.splice(0, this.maxCalls);
			try {
				const outputs = await this.driver.transaction(async (tx) => {
					const results: O[] = [];
					for (const call of group) results.push(await this.work(tx, call.input));
					return results;
				});
				group.forEach((call, i) => call.resolve(outputs[i]));
			} catch (error) {
				if (group.length === 1) group[0].reject(error);
				else for (const call of group) await this.alone(call);
			}
		}
		this.running = false;
	}

	private async alone(call: Waiting<I, O>): Promise<void> {
		try {
			call.resolve(await this.driver.transaction(async (tx) => await this.work(tx, call.input)));
		} catch (error) {
			call.reject(error);
		}
	}
}
