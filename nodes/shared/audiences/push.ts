/**
 * Banner Partner Push's work, free of n8n: find each item's person, keep out anyone without ad
 * consent (for additions), work out the changes (a sync compares with the members the store
 * holds), send them in the partner's batches with retries, and record what the partner confirmed.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { askedToWaitTooLong, type HttpAnswer, type HttpCall, type HttpRequest, type RetryPolicy, waitBeforeRetry } from '../http';
import type { PersonInput } from '../segments/filter';
import { audienceMembers, audiencesOf, recordAudienceChanges, syncPlan } from '../store/audiences';
import type { SqlDriver } from '../store/driver';
import { resolveProfileIds } from '../store/identity';
import { type ProfileFields, type ProfileRow, toProfileFields } from '../store/rows';
import { selectIn } from '../store/sql';
import { type AudienceOperation, type AudiencePartner, type AudiencePerson, type AudienceTarget, type CallResult, partnerCalls } from './partners';

export type PushOperation = AudienceOperation | 'sync' | 'burn';

export interface PushSettings {
	/** The partner's name as the store records memberships (meta, google, ...). */
	partnerKey: string;
	partner: AudiencePartner;
	operation: PushOperation;
	target: AudienceTarget;
	/** Additions need the person's explicit ad consent (else: anyone who has not withdrawn it). */
	requireExplicitConsent: boolean;
	/** For phone numbers written without their country code, such as "33". */
	defaultCountryCode?: string;
	retry?: RetryPolicy;
}

export interface PushOutcome {
	status: 'added' | 'removed' | 'unchanged' | 'skipped' | 'failed';
	reason?: string;
	profileId?: string;
	/** The audiences the person was removed from (burn: every one they were added to). */
	audiences?: string[];
}

export interface PushReport {
	outcomes: PushOutcome[];
	/** Members a sync removed because they were no longer among the items (not those among them who withdrew consent). */
	removedBySync: string[];
	calls: number;
}

/** The identifiers a person's profile holds, where the usual traits keep them. */
export function audiencePerson(profile: ProfileFields): AudiencePerson {
	const t = profile.traits;
	const address = (t.address ?? {}) as Record<string, unknown>;
	return {
		email: profile.email ?? t.email,
		phone: t.phone,
		firstName: t.first_name ?? t.firstName,
		lastName: t.last_name ?? t.lastName,
		city: address.city ?? t.city,
		zip: address.postal_code ?? address.postalCode ?? t.zip ?? t.postal_code,
		country: address.country ?? t.country,
		externalId: profile.userId ?? undefined,
	};
}

export async function profilesById(db: SqlDriver, ids: string[]): Promise<Map<string, ProfileFields>> {
	const rows = await selectIn<ProfileRow>(db, 'SELECT * FROM rt_profiles WHERE id IN (?*)', ids);
	return new Map(rows.map((r) => [r.id, toProfileFields(r)]));
}

/** Sends a batch, then again while the answer may pass later, waiting as the partner asks or twice as long each time. */
export async function send(http: HttpCall, partner: AudiencePartner, call: HttpRequest, count: number, policy: RetryPolicy): Promise<{ results: CallResult[]; calls: number }> {
	for (let attempt = 1; ; attempt++) {
		let answer: HttpAnswer;
		try {
			answer = await http(call);
		} catch (error) {
			// No answer: adding or removing someone twice changes nothing, so trying again is safe.
			answer = { status: 503, headers: {}, body: { message: (error as Error).message } };
			if (attempt >= policy.attempts) return { results: new Array<CallResult>(count).fill({ ok: false, retryable: true, reason: `${partner.name} did not answer: ${(error as Error).message}` }), calls: attempt };
		}
		const results = partner.results(answer, count);
		const again = results.filter((r): r is Extract<CallResult, { ok: false }> => !r.ok && r.retryable);
		if (again.length === 0 || again.length < results.length || attempt >= policy.attempts) return { results, calls: attempt };
		const asked = Math.max(0, ...again.map((r) => r.retryAfterMs ?? 0));
		const wait = waitBeforeRetry(policy, attempt, asked);
		if (wait === undefined) return { results: results.map((r) => (r.ok ? r : { ...r, reason: askedToWaitTooLong(r.reason, asked) })), calls: attempt };
		await sleep(wait);
	}
}

/**
 * Pushes the items' people. add: consenting people join the audience; remove: the people leave it;
 * burn: they leave every audience of the partner the store saw them added to; sync: the items are
 * the whole audience, so only the people not yet in are added and the members not among them (or
 * who withdrew consent) are removed, and an unchanged audience makes no call.
 */
export async function pushAudience(db: SqlDriver, http: HttpCall, inputs: ReadonlyArray<Pick<PersonInput, 'person'>>, settings: PushSettings, now = Date.now()): Promise<PushReport> {
	const ids = await resolveProfileIds(db, inputs.map((i) => i.person));
	const profiles = await profilesById(db, [...new Set(ids.filter((id): id is string => !!id))]);
	const outcomes: PushOutcome[] = inputs.map((input, i) => {
		const profile = ids[i] ? profiles.get(ids[i]!) : undefined;
		if (!profile) return { status: 'skipped', reason: input.person ? 'this person is not in the store' : 'the item names no person' };
		return { status: 'skipped', profileId: profile.id };
	});
	const consents = (p: ProfileFields) => !p.suppressed && (settings.requireExplicitConsent ? p.consent.ads === true : p.consent.ads !== false);
	const policy = settings.retry ?? { attempts: 3, baseDelayMs: 1000 };
	const { partner, partnerKey, target } = settings;
	let calls = 0;
	const removedBySync: string[] = [];

	/** Sends one change for these people and records, by profile, what the partner confirmed. */
	const change = async (operation: AudienceOperation, audienceId: string, people: string[]): Promise<Map<string, CallResult | 'unmatchable'>> => {
		const results = new Map<string, CallResult | 'unmatchable'>();
		// A sync also removes members who are not among the items: their identifiers are read too.
		for (const [id, profile] of await profilesById(db, people.filter((id) => !profiles.has(id)))) profiles.set(id, profile);
		const known = people.filter((id) => profiles.has(id));
		const plan = partnerCalls(partner, operation, { ...target, audienceId, consentGranted: settings.requireExplicitConsent }, known.map((id) => ({ key: id, person: audiencePerson(profiles.get(id)!) })), settings.defaultCountryCode);
		for (const id of plan.unmatchable) results.set(id, 'unmatchable');
		for (const { call, keys } of plan.calls) {
			const sent = await send(http, partner, call, keys.length, policy);
			calls += sent.calls;
			keys.forEach((id, k) => results.set(id, sent.results[k]));
			const fatal = sent.results.find((r): r is Extract<CallResult, { ok: false }> => !r.ok && !!r.fatal);
			const done = keys.filter((_, k) => sent.results[k].ok);
			await recordAudienceChanges(db, partnerKey, audienceId, operation === 'add' ? { added: done, removed: [] } : { added: [], removed: done }, new Date(now));
			if (fatal) throw new Error(`${partner.name} cannot be used: ${fatal.reason}`);
		}
		return results;
	};
	const apply = (index: number, result: CallResult | 'unmatchable' | undefined, done: PushOutcome['status']) => {
		if (result === undefined) return;
		if (result === 'unmatchable') Object.assign(outcomes[index], { status: 'skipped', reason: `no identifier ${partner.name} can match (an email address, or a phone number where the partner takes one)` });
		else if (result.ok) Object.assign(outcomes[index], { status: done });
		else Object.assign(outcomes[index], { status: 'failed', reason: result.reason });
	};

	const found = outcomes.map((o, i) => ({ i, id: o.profileId })).filter((x): x is { i: number; id: string } => !!x.id);
	// A sync removes whoever is not among the items: items that name nobody (a wrong Person Field,
	// the wrong store) would empty the audience, so the sync stops before any call.
	const unknown = outcomes.filter((o) => !o.profileId).length;
	if (settings.operation === 'sync' && unknown > 0) {
		throw new Error(`${unknown} of the ${inputs.length} items name nobody the store knows (${outcomes.find((o) => !o.profileId)?.reason}); a sync would remove them from the audience, so nothing was sent. Check "Find Person By" and "Person Field".`);
	}
	if (settings.operation === 'add' || settings.operation === 'sync') {
		const wanted = found.filter(({ i, id }) => {
			if (consents(profiles.get(id)!)) return true;
			outcomes[i].reason = profiles.get(id)!.suppressed ? 'the person is suppressed' : settings.requireExplicitConsent ? 'no ad consent given' : 'ad consent withdrawn';
			return false;
		});
		const members = settings.operation === 'sync' ? await audienceMembers(db, partnerKey, target.audienceId) : new Set<string>();
		const plan = syncPlan(wanted.map((w) => w.id), members);
		const added = await change('add', target.audienceId, settings.operation === 'sync' ? plan.add : [...new Set(wanted.map((w) => w.id))]);
		for (const { i, id } of wanted) {
			if (added.has(id)) apply(i, added.get(id), 'added');
			else outcomes[i].status = 'unchanged';
		}
		if (settings.operation === 'sync' && plan.remove.length) {
			const removed = await change('remove', target.audienceId, plan.remove);
			const among = new Set(found.map((f) => f.id));
			removedBySync.push(...plan.remove.filter((id) => !among.has(id) && (removed.get(id) as CallResult | undefined)?.ok));
			// Items of people who no longer consent, and were members, leave too.
			for (const { i, id } of found) if (outcomes[i].status === 'skipped' && removed.has(id)) apply(i, removed.get(id), 'removed');
		}
	} else if (settings.operation === 'remove') {
		const removed = await change('remove', target.audienceId, [...new Set(found.map((f) => f.id))]);
		for (const { i, id } of found) apply(i, removed.get(id), 'removed');
		for (const { i } of found) if (outcomes[i].status === 'removed') outcomes[i].audiences = [target.audienceId];
	} else {
		// Burn: out of every audience of this partner the store saw the person added to.
		const byPerson = await audiencesOf(db, partnerKey, found.map((f) => f.id));
		const audiences = [...new Set([...byPerson.values()].flat())];
		const results = new Map<string, Map<string, CallResult | 'unmatchable'>>();
		for (const audienceId of audiences) {
			results.set(audienceId, await change('remove', audienceId, [...byPerson].filter(([, list]) => list.includes(audienceId)).map(([id]) => id)));
		}
		for (const { i, id } of found) {
			const list = byPerson.get(id) ?? [];
			if (list.length === 0) Object.assign(outcomes[i], { status: 'unchanged', reason: 'in no audience of this partner', audiences: [] });
			const failed = list.map((a) => results.get(a)?.get(id)).find((r) => r !== undefined && (r === 'unmatchable' || !r.ok));
			if (list.length && !failed) Object.assign(outcomes[i], { status: 'removed', audiences: list });
			else if (failed) apply(i, failed, 'removed');
		}
	}
	return { outcomes, removedBySync, calls };
}
