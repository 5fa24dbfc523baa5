/**
 * The store's heavy read-only work, which offThread runs in a worker thread: each job reads through
 * the driver it is given and yields its results, a page at a time where they can be many. Arguments
 * and results cross between threads by structured clone: plain data, Dates, Maps and Sets.
 */
import { type ChannelRule, touchOf } from '../attribution/channels';
import { pathOf, type Windows } from '../attribution/credit';
import { fitMarkov, type Journey } from '../attribution/markov';
import { type AttributionReport, buildReport, type ReportOptions } from '../attribution/report';
import { type SegmentMember, segmentMemberPages } from '../segments/filter';
import type { Segment } from '../segments/rules';
import { reportInput } from '../store/attribution';
import type { SqlDriver } from '../store/driver';

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
};

export type JobName = keyof typeof JOBS;

export type JobArgs<N extends JobName> = Parameters<(typeof JOBS)[N]>[1];

export type JobValue<N extends JobName> = ReturnType<(typeof JOBS)[N]> extends AsyncGenerator<infer V> ? V : never;
