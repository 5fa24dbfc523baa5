/**
 * Email Feedback → Apply Bounce Email: plain SMTP has no event webhook, so bounces and complaints
 * come back as emails (DSN and ARF reports); n8n's IMAP trigger reads the mailbox, and each email
 * is applied to the store as the providers' events are.
 */
import { readBounceEmail } from '../shared/feedback/bounce-email';
import type { FeedbackOutcome } from '../shared/store/feedback';
import type { RetargetingStore } from '../shared/store/store';

export interface BounceEmailResult {
	/** `applied`: read and applied; `ignored`: not a bounce or complaint report; `unreadable`: not an email. */
	status: 'applied' | 'ignored' | 'unreadable';
	reason?: string;
	events: Array<FeedbackOutcome & { email: string; reason?: string }>;
}

export async function applyBounceEmail(store: RetargetingStore, source: unknown, softBounceLimit: number, receivedAt = new Date()): Promise<BounceEmailResult> {
	if (typeof source !== 'string' || source.length === 0) return { status: 'unreadable', reason: 'the item has no email source in the field (set the IMAP trigger to Format: RAW)', events: [] };
	const reading = readBounceEmail(source, receivedAt);
	if (!reading.ok) return { status: 'unreadable', reason: reading.error, events: [] };
	if (reading.events.length === 0) return { status: 'ignored', reason: reading.ignored.map((i) => i.reason).join('; ') || 'not a bounce or complaint report', events: [] };
	const outcomes = await store.applyFeedback(reading.events, { softBounceLimit });
	return { status: 'applied', events: outcomes.map((o, i) => ({ ...o, email: reading.events[i].email, reason: reading.events[i].reason })) };
}
