/**
 * The consent log: every change of a person's consent or suppression, and every partner audience
 * they left because of it, with its source and time, so that a shop can show a regulator what
 * happened. An erasure keeps only a hash of the profile id and the times.
 */
import { createHash } from 'node:crypto';

import type { SqlDriver } from './driver';
import { insertRows } from './sql';

/** `email`, `ads`, `analytics`, or `all` for suppression and erasure. */
export type ConsentLogPurpose = 'email' | 'ads' | 'analytics' | 'all';

export type ConsentLogAction = 'granted' | 'withdrawn' | 'suppressed' | 'unsuppressed' | 'left_audience' | 'erased';

export interface ConsentStep {
	profileId: string;
	purpose: ConsentLogPurpose;
	action: ConsentLogAction;
	/** Who or what made the change: `tracker`, `gpc`, `unsubscribe-page`, `sendgrid`, `profile-node`, ... */
	source: string;
	/** What it concerned: a campaign, a partner audience, a provider's reason. Dropped on erasure. */
	detail?: string | null;
	at: Date;
}

export interface ConsentLogEntry {
	purpose: string;
	action: string;
	source: string;
	detail: string | null;
	at: string;
}

/** What the log keeps of a person after erasure: a hash that no longer leads to anyone. */
export function consentSubject(profileId: string): string {
	return createHash('sha256').update(`rt-consent:${profileId}`).digest('hex');
}

const clip = (text: string | null | undefined, max: number) => (text == null ? null : text.slice(0, max));

export async function logConsentSteps(db: SqlDriver, steps: readonly ConsentStep[]): Promise<void> {
	await insertRows(
		db,
		'INSERT INTO rt_consent_log (profile_id, subject, purpose, action, source, detail, at)',
		steps.map((s) => [s.profileId, consentSubject(s.profileId), s.purpose, s.action, clip(s.source, 100)!, clip(s.detail, 500), s.at.toISOString()]),
	);
}

/** A person's consent log, oldest first. */
export async function consentLogOf(db: SqlDriver, profileId: string): Promise<ConsentLogEntry[]> {
	return await db.all<ConsentLogEntry>('SELECT purpose, action, source, detail, at FROM rt_consent_log WHERE profile_id = ? ORDER BY at, id', [profileId]);
}

/** The log of an erased person, by the subject hash their entries kept. */
export async function consentLogOfSubject(db: SqlDriver, subject: string): Promise<ConsentLogEntry[]> {
	return await db.all<ConsentLogEntry>('SELECT purpose, action, source, detail, at FROM rt_consent_log WHERE subject = ? ORDER BY at, id', [subject]);
}

/**
 * Erasure: the person's entries lose their profile id and details (a provider's bounce text can
 * hold the address), keeping the hash, the purpose, the action, the source and the time; one entry
 * records the erasure itself.
 */
export async function anonymiseConsentLog(tx: SqlDriver, profileId: string, at: Date, source: string): Promise<void> {
	await tx.run('UPDATE rt_consent_log SET profile_id = NULL, detail = NULL WHERE profile_id = ?', [profileId]);
	await tx.run('INSERT INTO rt_consent_log (profile_id, subject, purpose, action, source, detail, at) VALUES (NULL, ?, ?, ?, ?, NULL, ?)', [
		consentSubject(profileId),
		'all',
		'erased',
		clip(source, 100),
		at.toISOString(),
	]);
}

/** A merge: the dropped profile's entries follow the person to the kept one. */
export async function moveConsentLog(tx: SqlDriver, keepId: string, dropId: string): Promise<void> {
	await tx.run('UPDATE rt_consent_log SET profile_id = ?, subject = ? WHERE profile_id = ?', [keepId, consentSubject(keepId), dropId]);
}
