/**
 * The store's heavy work, which offThread runs in a worker thread: each job reads (the refresh of
 * recommendations also writes) through the driver it is given and yields its results, a page at a
 * time where they can be many. Arguments
 * and results cross between threads by structured clone: plain data, Dates, Maps and Sets.
 */
import { type ChannelRule, touchOf } from '../attribution/channels';
import { pathOf, type Windows } from '../attribution/credit';
import { fitMarkov, type Journey } from '../attribution/markov';
import { type AttributionReport, buildReport, type ReportOptions } from '../attribution/report';
import type { PredictiveModel, ValueSettings } from '../predictive/figures';
import { type SegmentMember, segmentMemberPages } from '../segments/filter';
import type { Segment } from '../segments/rules';
import type { RecommendationSettings, RecommendedProduct } from '../recommendations/rank';
import { reportInput } from '../store/attribution';
import type { SqlDriver } from '../store/driver';
import { fitAndKeep } from '../store/predictive';
import { type RecommendationRequest, recommendationPages, refreshRecommendations, type RefreshReport } from '../store/recommendations';

export const JOBS = {
	/** The attribution report of [from, to). */
	async *attributionReport(db: SqlDriver, { from, to, options }: { from: Date; to: Date; options: ReportOptions }): AsyncGenerator<AttributionReport> {
		yield buildReport(await reportInput(db, from, to, options.windows.lookbackMs), options);
	},

	/**
	 * Each channel's Markov removal effect, fitted to the journeys of the lookback before `now`: the
	 * paths of its conversions and the touches of everyone who did not convert.
	 */
	async *removalEffects(db: SqlDriver, { now, windows, rules }: { now: Date; windows: Windows; rules: ChannelRule[] }): AsyncGenerator<Map<string, number>> {
		const input = await reportInput(db, new Date(now.getTime() - windows.lookbackMs), now, windows.lookbackMs);
		const converted = new Set(input.conversions.map((c) => c.profileId));
		const touchesOf = new Map([...input.touchpoints].map(([id, list]) => [id, list.map((t) => touchOf(t, rules))]));
		const journeys: Journey[] = input.conversions.map((c) => ({ channels: pathOf(touchesOf.get(c.profileId) ?? [], c.at, windows).map((t) => t.channel), converted: true }));
		for (const [id, touches] of touchesOf) if (!converted.has(id)) journeys.push({ channels: touches.map((t) => t.channel), converted: false });
		yield fitMarkov(journeys).removalEffects;
	},

	/** The members of a segment, a page at a time, at most `max`. */
	segmentMembers(db: SqlDriver, { segment, max, now }: { segment: Segment; max?: number; now?: number }): AsyncGenerator<SegmentMember[]> {
		return segmentMemberPages(db, segment, { max, now });
	},

	/** Each request's recommended products, a page of requests at a time. */
	recommendations(db: SqlDriver, { requests, settings, now }: { requests: RecommendationRequest[]; settings: RecommendationSettings; now: Date }): AsyncGenerator<RecommendedProduct[][]> {
		return recommendationPages(db, requests, settings, now);
	},

	/** Adds the events received since the last refresh to the recommendation tables. */
	async *refreshRecommendations(db: SqlDriver, { now }: { now: Date }): AsyncGenerator<RefreshReport> {
		yield await refreshRecommendations(db, now);
	},

	/** Fits the predictive models on every customer's orders and keeps the fit (CPU-heavy: seconds for a million customers). */
	async *fitPredictiveModels(db: SqlDriver, { settings, now }: { settings: ValueSettings; now: Date }): AsyncGenerator<PredictiveModel> {
		yield await fitAndKeep(db, settings, now);
	},
};

export type JobName = keyof typeof JOBS;

export type JobArgs<N extends JobName> = Parameters<(typeof JOBS)[N]>[1];

export type JobValue<N extends JobName> = ReturnType<(typeof JOBS)[N]> extends AsyncGenerator<infer V> ? V : never;
