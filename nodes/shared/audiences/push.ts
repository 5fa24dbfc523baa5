/**
 * Banner Partner Push's work, free of n8n: find each item's person, keep out anyone without ad
 * consent (for additions), work out the changes (a sync compares with the members the store
 * holds), send them in the partner's batches with retries, and record what the partner confirmed.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { askedToWaitTooLong, DEFAULT_RETRY, type HttpAnswer, type HttpCall, type HttpRequest, type RetryPolicy, waitBeforeRetry } from '../http';
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

/**
 * Sends a batch, then again while the answer may pass later, waiting as the partner asks or twice as
 * long each time. Gives the last answer too. `resendUnanswered: false` is for a call that creates
 * something: without an answer it may have been made, and a second try could make it twice.
 */
export async function send(
	http: HttpCall,
	partner: Pick<AudiencePartner, 'name' | 'results'>,
	call: HttpRequest,
	count: number,
	policy: RetryPolicy,
	resendUnanswered = true,
): Promise<{ results: CallResult[]; calls: number; answer: HttpAnswer }> {
	for (let attempt = 1; ; attempt++) {
		let answer: HttpAnswer;
		try {
			answer = await http(call);
		} catch (error) {
			// No answer: adding or removing someone twice changes nothing, so trying again is safe.
			answer = { status: 503, headers: {}, body: { message: (error as Error).message } };
			if (attempt >= policy.attempts || !resendUnanswered) return { results: new Array<CallResult>(count).fill({ ok: false, retryable: true, reason: `${partner.name} did not answer: ${(error as Error).message}` }), calls: attempt, answer };
		}
		const results = partner.results(answer, count);
		const again = results.filter((r): r is Extract<CallResult, { ok: false }> => !r.ok && r.retryable);
		if (again.length === 0 || again.length < results.length || attempt >= policy.attempts) return { results, calls: attempt, answer };
		const asked = Math.max(0, ...again.map((r) => r.retryAfterMs ?? 0));
		const wait = waitBeforeRetry(policy, attempt, asked);
		if (wait === undefined) return { results: results.map((r) => (r.ok ? r : { ...r, reason: askedToWaitTooLong(r.reason, asked) })), calls: attempt, answer };
		await sleep(wait);
	}
}

/** What the steps of one pushAudience call share. */
interface PushRun {
	db: SqlDriver;
	http: HttpCall;
	settings: PushSettings;
	now: number;
	policy: RetryPolicy;
	/** The profiles read so far, by ID: the items' people, then the members a sync removes. */
	profiles: Map<string, ProfileFields>;
	outcomes: PushOutcome[];
	calls: number;
}

/** An item whose person the store knows: its index, and the person's profile ID. */
interface Found {
	i: number;
	id: string;
}

type ChangeResult = CallResult | 'unmatchable';

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
	const run: PushRun = { db, http, settings, now, policy: settings.retry ?? DEFAULT_RETRY, profiles, outcomes, calls: 0 };
	const found = outcomes.map((o, i) => ({ i, id: o.profileId })).filter((x): x is Found => !!x.id);
	// A sync removes whoever is not among the items: items that name nobody (a wrong Person Field,
	// the wrong store) would empty the audience, so the sync stops before any call.
	const unknown = outcomes.filter((o) => !o.profileId).length;
	if (settings.operation === 'sync' && unknown > 0) {
		throw new Error(`${unknown} of the ${inputs.length} items name nobody the store knows (${outcomes.find((o) => !o.profileId)?.reason}); a sync would remove them from the audience, so nothing was sent. Check "Find Person By" and "Person Field".`);
	}
	let removedBySync: string[] = [];
	if (settings.operation === 'add' || settings.operation === 'sync') removedBySync = await addOrSync(run, found);
	else if (settings.operation === 'remove') await removeFromAudience(run, found);
	else await burn(run, found);
	return { outcomes, removedBySync, calls: run.calls };
}

/**
 * add: the consenting people join the audience; sync: those not yet in join, and the members not
 * among them leave. Gives the members a sync removed who were not among the items.
 */
async function addOrSync(run: PushRun, found: Found[]): Promise<string[]> {
	const { db, settings, outcomes } = run;
	const { audienceId } = settings.target;
	const sync = settings.operation === 'sync';
	const wanted = withAdConsent(run, found);
	const members = sync ? await audienceMembers(db, settings.partnerKey, audienceId) : new Set<string>();
	const plan = syncPlan(wanted.map((w) => w.id), members);
	const added = await change(run, 'add', audienceId, sync ? plan.add : [...new Set(wanted.map((w) => w.id))]);
	for (const { i, id } of wanted) {
		if (added.has(id)) applyResult(run, i, added.get(id), 'added');
		else outcomes[i].status = 'unchanged';
	}
	if (!sync || plan.remove.length === 0) return [];
	const removed = await change(run, 'remove', audienceId, plan.remove);
	// Items of people who no longer consent, and were members, leave too.
	for (const { i, id } of found) if (outcomes[i].status === 'skipped' && removed.has(id)) applyResult(run, i, removed.get(id), 'removed');
	const among = new Set(found.map((f) => f.id));
	return plan.remove.filter((id) => !among.has(id) && (removed.get(id) as CallResult | undefined)?.ok);
}

/** The people who may join an audience: not suppressed, with ad consent; the others' outcomes say why not. */
function withAdConsent(run: PushRun, found: Found[]): Found[] {
	const { requireExplicitConsent } = run.settings;
	return found.filter(({ i, id }) => {
		const profile = run.profiles.get(id)!;
		if (!profile.suppressed && (requireExplicitConsent ? profile.consent.ads === true : profile.consent.ads !== false)) return true;
		run.outcomes[i].reason = profile.suppressed ? 'the person is suppressed' : requireExplicitConsent ? 'no ad consent given' : 'ad consent withdrawn';
		return false;
	});
}

async function removeFromAudience(run: PushRun, found: Found[]): Promise<void> {
	const { audienceId } = run.settings.target;
	const removed = await change(run, 'remove', audienceId, [...new Set(found.map((f) => f.id))]);
	for (const { i, id } of found) applyResult(run, i, removed.get(id), 'removed');
	for (const { i } of found) if (run.outcomes[i].status === 'removed') run.outcomes[i].audiences = [audienceId];
}

/** Burn: out of every audience of this partner the store saw the person added to. */
async function burn(run: PushRun, found: Found[]): Promise<void> {
	const byPerson = await audiencesOf(run.db, run.settings.partnerKey, found.map((f) => f.id));
	const audiences = [...new Set([...byPerson.values()].flat())];
	const results = new Map<string, Map<string, ChangeResult>>();
	for (const audienceId of audiences) {
		results.set(audienceId, await change(run, 'remove', audienceId, [...byPerson].filter(([, list]) => list.includes(audienceId)).map(([id]) => id)));
	}
	for (const { i, id } of found) {
		const list = byPerson.get(id) ?? [];
		if (list.length === 0) Object.assign(run.outcomes[i], { status: 'unchanged', reason: 'in no audience of this partner', audiences: [] });
		const failed = list.map((a) => results.get(a)?.get(id)).find((r) => r !== undefined && (r === 'unmatchable' || !r.ok));
		if (list.length && !failed) Object.assign(run.outcomes[i], { status: 'removed', audiences: list });
		else if (failed) applyResult(run, i, failed, 'removed');
	}
}

/** Sends one change for these people and records, by profile, what the partner confirmed. */
async function change(run: PushRun, operation: AudienceOperation, audienceId: string, people: string[]): Promise<Map<string, ChangeResult>> {
	const { db, settings, profiles } = run;
	const { partner, partnerKey, target } = settings;
	const results = new Map<string, ChangeResult>();
	// A sync also removes members who are not among the items: their identifiers are read too.
	for (const [id, profile] of await profilesById(db, people.filter((id) => !profiles.has(id)))) profiles.set(id, profile);
	const known = people.filter((id) => profiles.has(id));
	const plan = partnerCalls(partner, operation, { ...target, audienceId, consentGranted: settings.requireExplicitConsent }, known.map((id) => ({ key: id, person: audiencePerson(profiles.get(id)!) })), settings.defaultCountryCode);
	for (const id of plan.unmatchable) results.set(id, 'unmatchable');
	for (const { call, keys } of plan.calls) {
		const sent = await send(run.http, partner, call, keys.length, run.policy);
		run.calls += sent.calls;
		keys.forEach((id, k) => results.set(id, sent.results[k]));
		const fatal = sent.results.find((r): r is Extract<CallResult, { ok: false }> => !r.ok && !!r.fatal);
		const done = keys.filter((_, k) => sent.results[k].ok);
		await recordAudienceChanges(db, partnerKey, audienceId, operation === 'add' ? { added: done, removed: [] } : { added: [], removed: done }, new Date(run.now));
		if (fatal) throw new Error(`${partner.name} cannot be used: ${fatal.reason}`);
	}
	return results;
}

/** An item's outcome from what the partner answered for its person; nothing when its person was not in the change. */
function applyResult(run: PushRun, index: number, result: ChangeResult | undefined, done: PushOutcome['status']): void {
	if (result === undefined) return;
	const outcome = run.outcomes[index];
	if (result === 'unmatchable') Object.assign(outcome, { status: 'skipped', reason: `no identifier ${run.settings.partner.name} can match (an email address, or a phone number where the partner takes one)` });
	else if (result.ok) Object.assign(outcome, { status: done });
	else Object.assign(outcome, { status: 'failed', reason: result.reason });
}
