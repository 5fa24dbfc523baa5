/**
 * Applies what the email providers report back: bounces and complaints suppress the address,
 * unsubscribes withdraw email consent, soft bounces are counted, deliveries, opens and clicks become
 * touchpoints of the send's campaign. Each provider event is applied once, however often the
 * provider delivers it.
 */
import { createHash } from 'node:crypto';

import type { FeedbackEvent, FeedbackKind } from '../feedback/model';
import { insertTouchpoints, type NewTouchpoint } from './attribution';
import { type ConsentStep, logConsentSteps } from './consent-log';
import type { SqlDriver, SqlValue } from './driver';
import { liveProfiles, lookupProfileIds, normalizeEmail } from './identity';
import { insertRows, json, parsed, selectIn, takeTurns } from './sql';

export interface FeedbackSettings {
	/** Soft bounces in a row (no delivery, open or click between them) after which the address is suppressed. */
	softBounceLimit: number;
}

export interface FeedbackOutcome {
	id: string;
	kind: FeedbackKind;
	/**
	 * - `applied`: recorded, with what it did in `action`;
	 * - `duplicate`: this provider event was applied before (a redelivered webhook);
	 * - `unknown`: neither the send nor the address is in the store: nothing recorded.
	 */
	status: 'applied' | 'duplicate' | 'unknown';
	action?: 'suppressed' | 'unsubscribed' | 'counted' | 'touchpoint' | 'none';
	profileId?: string;
	campaign?: string | null;
	sendKey?: string;
}

const SUPPRESSING: Partial<Record<FeedbackKind, string>> = { hard_bounce: 'hard bounce', invalid_address: 'invalid address', complaint: 'spam complaint' };
const TOUCHPOINTS: Partial<Record<FeedbackKind, string>> = { delivered: 'email_delivered', opened: 'email_opened', clicked: 'email_clicked' };
const ENGAGED: FeedbackKind[] = ['delivered', 'opened', 'clicked'];

interface SendRow {
	idempotency_key: string;
	profile_id: string;
	campaign: string | null;
	provider_id: string | null;
}

/** The click id ESP Send put on the send's links (see sendEmails), so an email click and the visit it led to are one journey. */
export function sendClickId(key: string): string {
	return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** The sends the events name, by idempotency key and by the provider's message id. */
async function sendsOf(tx: SqlDriver, events: readonly FeedbackEvent[]): Promise<(e: FeedbackEvent) => SendRow | undefined> {
	const columns = 'SELECT idempotency_key, profile_id, campaign, provider_id FROM rt_sends';
	const byKey = new Map(
		(await selectIn<SendRow>(tx, `${columns} WHERE idempotency_key IN (?*)`, events.flatMap((e) => (e.sendKey ? [e.sendKey] : [])))).map((r) => [r.idempotency_key, r]),
	);
	const byProviderId = new Map(
		(await selectIn<SendRow>(tx, `${columns} WHERE provider_id IN (?*)`, events.flatMap((e) => (e.providerMessageId ? [e.providerMessageId] : [])))).map((r) => [r.provider_id!, r]),
	);
	return (e) => (e.sendKey ? byKey.get(e.sendKey) : undefined) ?? (e.providerMessageId ? byProviderId.get(e.providerMessageId) : undefined);
}

/**
 * Applies a webhook's events in one transaction, in order, and tells what each did. The person is
 * the send's (found by the key ESP Send put in the message, or the provider's message id), else
 * whoever has the address.
 */
export async function applyFeedback(db: SqlDriver, events: readonly FeedbackEvent[], settings: FeedbackSettings, now = new Date()): Promise<FeedbackOutcome[]> {
	return await db.transaction(async (tx) => await applyFeedbackIn(tx, events, settings, now));
}

/** applyFeedback inside a transaction the caller holds (the store's group commit joins concurrent webhooks into one). */
export async function applyFeedbackIn(tx: SqlDriver, events: readonly FeedbackEvent[], settings: FeedbackSettings, now = new Date()): Promise<FeedbackOutcome[]> {
	if (events.length === 0) return [];
	await takeTurns(tx, 'rt_email_events');
	const seen = new Set(
		(
			await selectIn<{ provider: string; event_id: string }>(
				tx,
				'SELECT provider, event_id FROM rt_email_events WHERE event_id IN (?*)',
				events.map((e) => e.id),
			)
		).map((r) => `${r.provider}\n${r.event_id}`),
	);
	const sendOf = await sendsOf(tx, events);
	const byEmail = await lookupProfileIds(tx, events.map((e) => ({ kind: 'email' as const, value: normalizeEmail(e.email) })));
	const owners = events.map((e) => sendOf(e)?.profile_id ?? byEmail.get(`email:${normalizeEmail(e.email)}`));
	const live = await liveProfiles(tx, owners.filter((id): id is string => !!id));

	const outcomes: FeedbackOutcome[] = [];
	const rows: SqlValue[][] = [];
	const touchpoints: NewTouchpoint[] = [];
	for (const [i, event] of events.entries()) {
		const key = `${event.provider}\n${event.id}`;
		const send = sendOf(event);
		const base = { id: event.id, kind: event.kind, ...(send ? { sendKey: send.idempotency_key, campaign: send.campaign } : {}) };
		if (seen.has(key)) {
			outcomes.push({ ...base, status: 'duplicate' });
			continue;
		}
		const profileId = owners[i];
		if (!profileId || !live.has(profileId)) {
			outcomes.push({ ...base, status: 'unknown' });
			continue;
		}
		seen.add(key);
		rows.push([event.provider, event.id, profileId, send?.idempotency_key ?? null, event.kind, event.at, now.toISOString()]);
		const touch = TOUCHPOINTS[event.kind];
		if (touch) {
			touchpoints.push({
				profileId,
				id: `${event.provider}:${event.id}`,
				channel: null,
				source: event.provider,
				medium: 'email',
				campaign: send?.campaign ?? null,
				clickId: send ? sendClickId(send.idempotency_key) : null,
				kind: touch,
				at: new Date(event.at),
			});
		}
		outcomes.push({ ...base, status: 'applied', profileId, action: touch ? 'touchpoint' : 'none' });
	}
	await insertRows(tx, 'INSERT INTO rt_email_events (provider, event_id, profile_id, send_key, kind, occurred_at, received_at)', rows, 'ON CONFLICT (provider, event_id) DO NOTHING');
	await insertTouchpoints(tx, touchpoints);
	await applyConsequences(tx, events, outcomes, settings, now);
	return outcomes;
}

/** Suppressions, unsubscribes and soft-bounce counts of the applied events, each logged with the provider as source. */
async function applyConsequences(tx: SqlDriver, events: readonly FeedbackEvent[], outcomes: FeedbackOutcome[], settings: FeedbackSettings, now: Date): Promise<void> {
	const steps: ConsentStep[] = [];
	for (const [i, event] of events.entries()) {
		const outcome = outcomes[i];
		if (outcome.status !== 'applied' || !outcome.profileId) continue;
		const profileId = outcome.profileId;
		const detail = [SUPPRESSING[event.kind] ?? event.kind.replace('_', ' '), event.reason].filter(Boolean).join(': ');
		if (SUPPRESSING[event.kind] || (event.kind === 'soft_bounce' && (await softBouncesInARow(tx, profileId)) >= settings.softBounceLimit)) {
			const reason = event.kind === 'soft_bounce' ? `${settings.softBounceLimit} soft bounces in a row (${event.provider})` : `${SUPPRESSING[event.kind]} (${event.provider})`;
			const changed = await tx.run('UPDATE rt_profiles SET suppressed = 1, suppressed_reason = ? WHERE id = ? AND suppressed = 0', [reason, profileId]);
			outcome.action = 'suppressed';
			if (changed) steps.push({ profileId, purpose: 'all', action: 'suppressed', source: event.provider, detail, at: now });
		} else if (event.kind === 'soft_bounce') {
			outcome.action = 'counted';
		} else if (event.kind === 'unsubscribed') {
			outcome.action = 'unsubscribed';
			const [row] = await tx.all<{ consent: unknown }>('SELECT consent FROM rt_profiles WHERE id = ?', [profileId]);
			const consent = parsed<Record<string, unknown>>(row.consent);
			if (consent.email === false) continue;
			await tx.run('UPDATE rt_profiles SET consent = ? WHERE id = ?', [json({ ...consent, email: false }), profileId]);
			steps.push({ profileId, purpose: 'email', action: 'withdrawn', source: event.provider, detail, at: now });
		}
	}
	await logConsentSteps(tx, steps);
}

/** Soft bounces recorded for the person since their last delivery, open or click. */
async function softBouncesInARow(tx: SqlDriver, profileId: string): Promise<number> {
	const [row] = await tx.all<{ n: number }>(
		`SELECT COUNT(*) AS n FROM rt_email_events WHERE profile_id = ? AND kind = 'soft_bounce'
		 AND occurred_at > COALESCE((SELECT MAX(occurred_at) FROM rt_email_events WHERE profile_id = ? AND kind IN (${ENGAGED.map(() => '?').join(', ')})), '')`,
		[profileId, profileId, ...ENGAGED],
	);
	return Number(row?.n ?? 0);
}
