/**
 * The consent cascade: whoever withdrew ad consent, was suppressed or was erased, by any path
 * (tracker.js, GPC, the Profile node, an unsubscribe "from all", a spam complaint), leaves every
 * audience of a partner the store saw them added to. Each removal the partner confirms is recorded
 * in the consent log; a refused one stays due and is tried again on the next run.
 */
import { DEFAULT_RETRY, type HttpCall, type RetryPolicy } from '../http';
import { type ConsentExit, consentExits, recordAudienceChanges, settleErasedExits } from '../store/audiences';
import { logConsentSteps } from '../store/consent-log';
import type { SqlDriver } from '../store/driver';
import type { ProfileFields } from '../store/rows';
import { type AudiencePartner, type AudienceTarget, type CallResult, partnerCalls } from './partners';
import { audiencePerson, profilesById, send } from './push';

export interface CascadeSettings {
	partnerKey: string;
	partner: AudiencePartner;
	target: Omit<AudienceTarget, 'audienceId'>;
	defaultCountryCode?: string;
	retry?: RetryPolicy;
	/** People taken out in one run at most; the rest wait for the next run. */
	limit: number;
}

export interface CascadeOutcome {
	audienceId: string;
	/** Living people: their profile id; erased people: the hash the consent log keeps. */
	profileId?: string;
	subject?: string;
	status: 'removed' | 'failed';
	reason?: string;
}

export const CASCADE_SOURCE = 'consent-cascade';

/**
 * Takes the people who must leave the partner's audiences out of them. `http` is asked for only
 * when someone must leave, so a partner the shop never pushed to needs no credential.
 */
export async function runConsentCascade(db: SqlDriver, http: () => Promise<HttpCall>, settings: CascadeSettings, now = Date.now()): Promise<CascadeOutcome[]> {
	const exits = await consentExits(db, settings.partnerKey, settings.limit);
	if (exits.length === 0) return [];
	const call = await http();
	const profiles = await profilesById(db, [...new Set(exits.map((e) => e.profileId).filter((id): id is string => !!id))]);
	const outcomes: CascadeOutcome[] = [];
	for (const audienceId of new Set(exits.map((e) => e.audienceId))) {
		outcomes.push(...(await leave(db, call, settings, audienceId, exits.filter((e) => e.audienceId === audienceId), profiles, new Date(now))));
	}
	return outcomes;
}

const keyOf = (exit: ConsentExit) => exit.profileId ?? `erased:${exit.subject}`;

async function leave(db: SqlDriver, http: HttpCall, settings: CascadeSettings, audienceId: string, exits: ConsentExit[], profiles: Map<string, ProfileFields>, at: Date): Promise<CascadeOutcome[]> {
	const { partner, partnerKey } = settings;
	const people = exits.flatMap((exit) => {
		// audiencePerson reads only the email, user ID and traits an exit keeps.
		const fields = exit.profileId ? profiles.get(exit.profileId) : (exit.person as unknown as ProfileFields | undefined);
		return fields ? [{ key: keyOf(exit), person: audiencePerson(fields) }] : [];
	});
	const plan = partnerCalls(partner, 'remove', { ...settings.target, audienceId, consentGranted: false }, people, settings.defaultCountryCode);
	const results = new Map<string, CallResult | 'unmatchable'>(plan.unmatchable.map((key) => [key, 'unmatchable']));
	for (const { call, keys } of plan.calls) {
		const sent = await send(http, partner, call, keys.length, settings.retry ?? DEFAULT_RETRY);
		keys.forEach((key, k) => results.set(key, sent.results[k]));
		const fatal = sent.results.find((r): r is Extract<CallResult, { ok: false }> => !r.ok && !!r.fatal);
		if (fatal) {
			await record(db, partnerKey, audienceId, exits, results, at);
			throw new Error(`${partner.name} cannot be used: ${fatal.reason}`);
		}
	}
	return await record(db, partnerKey, audienceId, exits, results, at);
}

/** Records what the partner confirmed: memberships and queue entries settled, consent log steps written. */
async function record(db: SqlDriver, partnerKey: string, audienceId: string, exits: ConsentExit[], results: Map<string, CallResult | 'unmatchable'>, at: Date): Promise<CascadeOutcome[]> {
	const outcomes = exits.map((exit): CascadeOutcome => {
		const result = results.get(keyOf(exit));
		const base = { audienceId, ...(exit.profileId ? { profileId: exit.profileId } : { subject: exit.subject }) };
		if (result === undefined) return { ...base, status: 'failed', reason: 'not sent: the partner refused an earlier call' };
		if (result === 'unmatchable') return { ...base, status: 'failed', reason: 'no identifier left that the partner can match' };
		return result.ok ? { ...base, status: 'removed' } : { ...base, status: 'failed', reason: result.reason };
	});
	const living = outcomes.filter((o) => o.profileId && o.status === 'removed').map((o) => o.profileId!);
	await recordAudienceChanges(db, partnerKey, audienceId, { added: [], removed: living }, at);
	await logConsentSteps(db, living.map((profileId) => ({ profileId, purpose: 'ads', action: 'left_audience', source: CASCADE_SOURCE, detail: `${partnerKey} audience ${audienceId}`, at })));
	await settleErasedExits(
		db,
		partnerKey,
		outcomes.filter((o) => o.subject).map((o) => ({ audienceId, subject: o.subject!, error: o.status === 'failed' ? o.reason : undefined })),
		CASCADE_SOURCE,
		at,
	);
	return outcomes;
}
