import { parseEvent, type TrackedEvent } from '../../nodes/shared/events/model.ts';

let sequence = 0;

/** A valid event at `ms` (an error if the model refuses it), with a message ID of its own. */
export function eventAt(ms: number, raw: Record<string, unknown>): TrackedEvent {
	const result = parseEvent({ messageId: `test-${process.pid}-${++sequence}`, timestamp: new Date(ms).toISOString(), ...raw });
	if (!result.ok) throw new Error(JSON.stringify(result.errors));
	return result.event;
}
