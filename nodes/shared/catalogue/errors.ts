/** A feed that cannot be read at all (not a feed, a broken file); `line` is where reading stopped, when known. */
export class FeedError extends Error {
	readonly line: number | undefined;

	constructor(message: string, line?: number) {
		super(line === undefined ? message : `line ${line}: ${message}`);
		this.name = 'FeedError';
		this.line = line;
	}
}
