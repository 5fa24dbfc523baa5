import type { Consent } from '../shared/events/model';
import type { ProfileRef, RetargetingStore } from '../shared/store/store';

export type LookupKind = 'email' | 'userId' | 'anonymousId' | 'profileId';

export type ProfileOperation = 'get' | 'upsert' | 'merge' | 'suppress' | 'unsuppress' | 'export' | 'erase';

export interface ProfileRequest {
	lookup?: { by: LookupKind; value: string };
	/** merge: the profile merged into the looked-up one, which keeps its id. */
	mergeFrom?: { by: LookupKind; value: string };
	includeHistory?: boolean;
	historyLimit?: number;
	identifiers?: { userId?: string; email?: string; anonymousId?: string };
	traits?: Record<string, unknown>;
	consent?: Consent;
	reason?: string;
}

export function refOf(lookup: { by: LookupKind; value: string }): ProfileRef {
	return { [lookup.by]: lookup.value.trim() };
}

/** What the Profile node outputs for one item, free of n8n types so it is tested directly. */
export async function runProfileOperation(
	store: RetargetingStore,
	operation: ProfileOperation,
	request: ProfileRequest,
): Promise<Record<string, unknown>> {
	if (operation === 'upsert') {
		const { userId, email, anonymousId } = request.identifiers ?? {};
		const profile = await store.upsertProfile(
			{ userId: userId || undefined, email: email || undefined, anonymousId: anonymousId || undefined },
			{ traits: request.traits, consent: request.consent },
		);
		return { ...profile };
	}
	const lookup = request.lookup!;
	const notFound = { found: false, lookupBy: lookup.by, lookupValue: lookup.value };
	const ref = refOf(lookup);
	switch (operation) {
		case 'get': {
			const profile = await store.findProfile(ref);
			if (!profile) return notFound;
			return {
				found: true,
				...profile,
				...(request.includeHistory ? { history: await store.history(profile.id, request.historyLimit ?? 50) } : {}),
			};
		}
		case 'merge': {
			const profile = await store.mergeProfiles(ref, refOf(request.mergeFrom!));
			return profile ? { found: true, ...profile } : notFound;
		}
		case 'suppress':
		case 'unsuppress': {
			const profile = await store.setSuppressed(ref, operation === 'suppress', request.reason || undefined);
			return profile ? { found: true, ...profile } : notFound;
		}
		case 'export': {
			const exported = await store.exportProfile(ref);
			return exported ? { found: true, ...exported } : notFound;
		}
		case 'erase': {
			const deleted = await store.eraseProfile(ref);
			return deleted ? { erased: true, deleted } : { erased: false, ...notFound };
		}
	}
}

/** Store → Purge Old Data: 13 months, the CNIL's guidance for audience-measurement trackers. */
export const DEFAULT_KEEP_DAYS = 395;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface PurgeRequest {
	/** Events received longer ago than this many days are deleted. */
	keepDays: number;
	/** Whether the email providers' events (deliveries, opens, clicks, bounces) older than that go too. */
	emailEvents: boolean;
}

export interface PurgeResult {
	purged: { events: number; emailEvents: number };
	/** The cutoff: what was received before it is gone. */
	before: string;
	keptDays: number;
}

/** The problem with a retention age, or undefined when it can be used. */
export function keepDaysProblem(keepDays: unknown): string | undefined {
	if (typeof keepDays !== 'number' || !Number.isFinite(keepDays)) return `Keep Events For (Days) must be a number, not ${JSON.stringify(keepDays)}`;
	if (keepDays < 1) return `Keep Events For (Days) must be at least 1, not ${keepDays}`;
	return undefined;
}

/**
 * Retention, run once per execution: deletes the events (and, when asked, the email providers'
 * events) received more than `keepDays` days before `now`. Orders and conversions, profiles, the
 * consent log and sends are kept.
 */
export async function purgeOldData(store: RetargetingStore, request: PurgeRequest, now = new Date()): Promise<PurgeResult> {
	const problem = keepDaysProblem(request.keepDays);
	if (problem) throw new Error(problem);
	const before = new Date(now.getTime() - request.keepDays * DAY_MS);
	const purged = await store.purgeBefore(before, { emailEvents: request.emailEvents });
	return { purged, before: before.toISOString(), keptDays: request.keepDays };
}
