/**
 * Lookalike audiences: the partner builds a new audience of people like those of a seed audience
 * the package filled. Meta and TikTok take it by API; Google and LinkedIn do not (see
 * docs/nodes/banner-partner-push.md). Shapes as the partners document them (REFERENCE-2.md, D).
 */
import { DEFAULT_RETRY, type HttpAnswer, type HttpCall, type HttpRequest, type RetryPolicy } from '../http';
import { audienceSize } from '../store/audiences';
import type { SqlDriver } from '../store/driver';
import { normalizeCountry } from './identifiers';
import { type CallResult, meta, tiktok } from './partners';
import { send } from './push';

export type LookalikePartnerName = 'meta' | 'tiktok';

interface LookalikeCommon {
	/** Meta: the ad account ID (digits, with or without act_); TikTok: the advertiser ID. */
	accountId: string;
	seedAudienceId: string;
	name: string;
}

export interface MetaLookalikeSpec extends LookalikeCommon {
	partner: 'meta';
	/** The share of the country's people, 1 to 20 (%), the closest first. */
	percent: number;
	/** The lower end of a bracket such as 1 % to 2 %; unset: from the closest people. */
	startingPercent?: number;
	/** ISO 3166-1 alpha-2. */
	country: string;
}

export const TIKTOK_SIZES = ['NARROW', 'BALANCED', 'BROAD'] as const;
export const TIKTOK_MOBILE_OS = ['ALL', 'ANDROID', 'IOS'] as const;
export const TIKTOK_PLACEMENTS = ['TikTok', 'TopBuzz & BuzzVideo', 'Pangle'] as const;

export interface TikTokLookalikeSpec extends LookalikeCommon {
	partner: 'tiktok';
	audienceSize: (typeof TIKTOK_SIZES)[number];
	/** TikTok's location IDs (GeoNames IDs, such as 6252001 for the United States). */
	locationIds: string[];
	includeSource: boolean;
	mobileOs: (typeof TIKTOK_MOBILE_OS)[number];
	placements: Array<(typeof TIKTOK_PLACEMENTS)[number]>;
}

export type LookalikeSpec = MetaLookalikeSpec | TikTokLookalikeSpec;

/** The fewest people a seed must hold, as each partner documents it. */
export const SEED_MINIMUM: Record<LookalikePartnerName, { people: number; detail: string }> = {
	// Meta Business Help Center, "About lookalike audiences": "at least 100 people from a single country".
	meta: { people: 100, detail: ' from one country' },
	// TikTok Business API, lookalike_spec.source_audience_id: "no less than 100".
	tiktok: { people: 100, detail: '' },
};

/** A parameter the partner cannot take: which one, and why. */
export interface LookalikeProblem {
	field: string;
	reason: string;
}

const whole = (n: number, min: number, max: number) => Number.isInteger(n) && n >= min && n <= max;

/** Why the partner would refuse these settings, before any call; undefined when they are fine. */
export function lookalikeProblem(spec: LookalikeSpec): LookalikeProblem | undefined {
	if (!spec.seedAudienceId) return { field: 'Seed Audience ID', reason: 'must not be empty' };
	if (!spec.name) return { field: 'Lookalike Name', reason: 'must not be empty' };
	if (spec.partner === 'meta') {
		if (!/^(act_)?\d+$/.test(spec.accountId)) return { field: 'Ad Account ID', reason: `"${spec.accountId}" is not an ad account ID: digits, such as 1234567890` };
		// Meta takes ratios 0.01 to 0.20 in steps of 0.01.
		if (!whole(spec.percent, 1, 20)) return { field: 'Size (%)', reason: `${spec.percent} is not a whole number from 1 to 20` };
		if (spec.startingPercent !== undefined && !whole(spec.startingPercent, 0, spec.percent - 1)) {
			return { field: 'Starting Size (%)', reason: `${spec.startingPercent} must be a whole number below the size (${spec.percent})` };
		}
		if (!/^[A-Z]{2}$/.test(spec.country)) return { field: 'Country', reason: `"${spec.country}" is not a two-letter country code such as FR` };
		return undefined;
	}
	if (!spec.accountId) return { field: 'Account ID', reason: 'must not be empty' };
	if (Array.from(spec.name).length > 128) return { field: 'Lookalike Name', reason: `${Array.from(spec.name).length} characters; TikTok takes at most 128` };
	if (spec.locationIds.length === 0) return { field: 'Location IDs', reason: 'must not be empty' };
	const location = spec.locationIds.find((id) => !/^\d+$/.test(id));
	if (location !== undefined) return { field: 'Location IDs', reason: `"${location}" is not a TikTok location ID (digits, such as 6252001)` };
	if (spec.placements.length === 0) return { field: 'Placements', reason: 'choose at least one' };
	return undefined;
}

/** A country as Meta takes it: ISO alpha-2, upper case (fr → FR); anything else is left for the check. */
export function lookalikeCountry(raw: string): string {
	return normalizeCountry(raw)?.toUpperCase() ?? raw.trim();
}

/** The partner's call that creates the lookalike. */
export function lookalikeCall(spec: LookalikeSpec): HttpRequest {
	if (spec.partner === 'meta') {
		// `type` is not sent: with it, Meta ignores `ratio`. The spec is a JSON-encoded string.
		const ratio = { ratio: spec.percent / 100, ...(spec.startingPercent ? { starting_ratio: spec.startingPercent / 100 } : {}), country: spec.country };
		return {
			method: 'POST',
			path: `/act_${spec.accountId.replace(/^act_/, '')}/customaudiences`,
			body: { name: spec.name, subtype: 'LOOKALIKE', origin_audience_id: spec.seedAudienceId, lookalike_spec: JSON.stringify(ratio) },
		};
	}
	return {
		method: 'POST',
		path: '/open_api/v1.3/dmp/custom_audience/lookalike/create/',
		body: {
			advertiser_id: spec.accountId,
			custom_audience_name: spec.name,
			lookalike_spec: {
				source_audience_id: spec.seedAudienceId,
				audience_size: spec.audienceSize,
				location_ids: spec.locationIds,
				include_source: spec.includeSource,
				mobile_os: spec.mobileOs,
				placements: spec.placements,
			},
		},
	};
}

/** Meta's error with its code (#2654 is a duplicate lookalike) and the words it has for the user. */
function metaResults(answer: HttpAnswer, count: number): CallResult[] {
	const error = (answer.body as { error?: { code?: number; error_subcode?: number; error_user_msg?: string } } | undefined)?.error;
	return meta.results(answer, count).map((r) => {
		if (r.ok || error?.code === undefined) return r;
		const words = error.error_user_msg ? `: ${error.error_user_msg}` : '';
		return { ...r, reason: `${r.reason}${words} (code ${error.code}${error.error_subcode ? `, subcode ${error.error_subcode}` : ''})` };
	});
}

/** How each partner's answer is read: the audience push's reading (throttling, refused token), and where the new ID is. */
const ANSWERS = {
	meta: { name: 'Meta', results: metaResults, idOf: (body: unknown) => (body as { id?: unknown } | undefined)?.id },
	tiktok: { name: 'TikTok', results: tiktok.results, idOf: (body: unknown) => (body as { data?: { custom_audience_id?: unknown } } | undefined)?.data?.custom_audience_id },
} as const;

export interface LookalikeOutcome {
	partner: LookalikePartnerName;
	/** created; notSent: the package refused before calling (the reason says why); failed: the partner refused or did not answer. */
	status: 'created' | 'notSent' | 'failed';
	lookalikeId?: string;
	name: string;
	seedAudienceId: string;
	/** The people the package added to the seed, as the store knows them. */
	seedPeople: number;
	/** Meta: the percentage (or the bracket, such as 1-2 %); TikTok: NARROW, BALANCED or BROAD. */
	size: string;
	country?: string;
	locationIds?: string[];
	reason?: string;
	/** What the partner answered last. */
	answer?: unknown;
	calls: number;
}

/**
 * Creates the lookalike, unless the seed holds fewer people than the partner needs (then no call).
 * 429 and 5xx are retried as pushes are; a call left without an answer is not, since the audience
 * may have been made. A refused token throws: no other item can pass either.
 */
export async function createLookalike(db: SqlDriver, http: HttpCall, spec: LookalikeSpec, policy: RetryPolicy = DEFAULT_RETRY): Promise<LookalikeOutcome> {
	const size = spec.partner === 'meta' ? (spec.startingPercent ? `${spec.startingPercent}-${spec.percent} %` : `${spec.percent} %`) : spec.audienceSize;
	const people = await audienceSize(db, spec.partner, spec.seedAudienceId);
	const outcome: LookalikeOutcome = {
		partner: spec.partner,
		status: 'notSent',
		name: spec.name,
		seedAudienceId: spec.seedAudienceId,
		seedPeople: people,
		size,
		...(spec.partner === 'meta' ? { country: spec.country } : { locationIds: spec.locationIds }),
		calls: 0,
	};
	const reading = ANSWERS[spec.partner];
	const minimum = SEED_MINIMUM[spec.partner];
	if (people < minimum.people) {
		return { ...outcome, reason: `the seed audience ${spec.seedAudienceId} has ${people} people the package added; ${reading.name} needs at least ${minimum.people}${minimum.detail}` };
	}
	const sent = await send(http, reading, lookalikeCall(spec), 1, policy, false);
	const [result] = sent.results;
	const done = { ...outcome, calls: sent.calls, answer: sent.answer.body };
	if (!result.ok && result.fatal) throw new Error(`${reading.name} cannot be used: ${result.reason}`);
	if (!result.ok) return { ...done, status: 'failed', reason: `${reading.name} did not create the lookalike: ${result.reason}` };
	const id = reading.idOf(sent.answer.body);
	if (typeof id !== 'string' && typeof id !== 'number') return { ...done, status: 'failed', reason: `${reading.name} answered ${sent.answer.status} without the new audience's ID` };
	return { ...done, status: 'created', lookalikeId: String(id) };
}
