/**
 * Keeps synchronous work (node:sqlite answers on the calling thread) from holding n8n's event
 * loop: webhooks, the editor and timers wait at most about one slice for it. Work asks `pause()`
 * between steps; the answer is a promise to await when the loop has had no turn for a whole
 * slice, else nothing. A turn is seen by an immediate queued when a slice starts, which runs only
 * once the loop gets round to it: awaiting promises alone never lets the loop in.
 */
export class EventLoopSlice {
	private readonly ms: number;

	private start = 0;

	private turned = true;

	constructor(ms: number) {
		this.ms = ms;
	}

	pause(): Promise<void> | undefined {
		if (this.turned) {
			this.turned = false;
			this.start = performance.now();
			setImmediate(() => {
				this.turned = true;
			});
			return undefined;
		}
		if (performance.now() - this.start < this.ms) return undefined;
		// The immediate queued when the slice started runs first, so the next pause starts a new slice.
		return new Promise((resolve) => setImmediate(resolve));
	}
}
