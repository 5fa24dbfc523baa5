/**
 * The attribution report over a period: revenue and conversions by channel and campaign under each
 * model, top conversion paths, time to conversion, path length, and lift against the holdout.
 */
import type { ChannelRule, StoredTouchpoint } from './channels';
import { touchOf } from './channels';
import { creditRows, pathOf, touchesInWindows, type Windows } from './credit';
import { fitMarkov, type Journey } from './markov';
import type { ModelName } from './models';

export interface StoredConversion {
	orderId: string;
	profileId: string;
	at: number;
	revenue: number;
	/** Refunded so far (a cancelled order: all of it). */
	refunded: number;
	status: string;
}

/** A conversion still counts unless it was cancelled or refunded in full; a partial refund only lowers its revenue. */
export function conversionKept(c: Pick<StoredConversion, 'revenue' | 'refunded' | 'status'>): boolean {
	return c.status !== 'cancelled' && !(c.refunded > 0 && c.refunded >= c.revenue);
}

/** What a conversion still earns once its refunds are taken back (never below nothing). */
export function netRevenue(c: Pick<StoredConversion, 'revenue' | 'refunded'>): number {
	return c.revenue - Math.min(c.refunded, c.revenue);
}

export interface ReportInput {
	/** Every profile's touchpoints in time order, over the period and its lookback before. */
	touchpoints: ReadonlyMap<string, readonly StoredTouchpoint[]>;
	/** The conversions of the period. */
	conversions: readonly StoredConversion[];
	/** Holdout campaigns: each member's arm and when they were drawn, and whether they converted after. */
	arms?: ReadonlyArray<{ campaign: string; arm: 'treated' | 'holdout'; members: number; converters: number; revenue: number }>;
}

export interface ReportOptions {
	models: readonly ModelName[];
	windows: Windows;
	halfLifeMs: number;
	rules: readonly ChannelRule[];
	topPaths: number;
}

export interface ChannelRow {
	model: ModelName;
	channel: string;
	campaign: string;
	conversions: number;
	revenue: number;
}

export interface LiftRow {
	campaign: string;
	treated: number;
	treatedConversions: number;
	holdout: number;
	holdoutConversions: number;
	treatedRate: number;
	holdoutRate: number;
	/** (treated rate − holdout rate) / holdout rate; null when the holdout never converted. */
	lift: number | null;
	/** 95 % confidence interval of the difference of the rates (normal approximation). */
	differenceLow: number;
	differenceHigh: number;
	incrementalConversions: number;
	incrementalRevenue: number;
}

export interface AttributionReport {
	conversions: number;
	revenue: number;
	byChannel: ChannelRow[];
	topPaths: Array<{ path: string; conversions: number; revenue: number }>;
	timeToConversion: Array<{ bucket: string; conversions: number }>;
	pathLength: Array<{ touches: string; conversions: number }>;
	lift: LiftRow[];
}

const HOUR = 3_600_000;
/** A conversion with no touch in its windows: credited to Direct, but neither timed nor measured as a path. */
const NO_TOUCH = 'no touch before';
const TIME_BUCKETS: Array<[string, number]> = [
	['under 1 hour', HOUR],
	['1 to 24 hours', 24 * HOUR],
	['1 to 7 days', 7 * 24 * HOUR],
	['7 to 30 days', 30 * 24 * HOUR],
	['30 days or more', Infinity],
];

/** Builds the report. Refunds and cancellations take back their share of each credit. */
export function buildReport(input: ReportInput, options: ReportOptions): AttributionReport {
	const touchesOf = new Map([...input.touchpoints].map(([profileId, list]) => [profileId, list.map((t) => touchOf(t, options.rules))]));
	const byProfile = new Map<string, StoredConversion[]>();
	for (const c of input.conversions) {
		const list = byProfile.get(c.profileId);
		if (list) list.push(c);
		else byProfile.set(c.profileId, [c]);
	}

	const paths = new Map<string, ReturnType<typeof pathOf>>();
	const untouched = new Set<string>();
	for (const c of input.conversions) {
		const touches = touchesInWindows(touchesOf.get(c.profileId) ?? [], c.at, options.windows);
		if (touches.length === 0) untouched.add(c.orderId);
		paths.set(c.orderId, pathOf(touches, c.at, options.windows));
	}
	let removalEffects: Map<string, number> | undefined;
	if (options.models.includes('markov')) {
		// Converting journeys, and the journeys of people who did not convert in the period.
		const journeys: Journey[] = [];
		for (const path of paths.values()) journeys.push({ channels: path.map((t) => t.channel), converted: true });
		for (const [profileId, touches] of touchesOf) if (!byProfile.has(profileId) && touches.length) journeys.push({ channels: touches.map((t) => t.channel), converted: false });
		removalEffects = fitMarkov(journeys).removalEffects;
	}

	const cells = new Map<string, ChannelRow>();
	const topPaths = new Map<string, { path: string; conversions: number; revenue: number }>();
	const times = new Map<string, number>([...TIME_BUCKETS.map(([bucket]): [string, number] => [bucket, 0]), [NO_TOUCH, 0]]);
	const lengths = new Map<string, number>();
	let conversions = 0;
	let revenue = 0;
	for (const c of input.conversions) {
		const kept = conversionKept(c) ? 1 : 0;
		const net = netRevenue(c);
		conversions += kept;
		revenue += net;
		const path = paths.get(c.orderId)!;
		for (const row of creditRows({ orderId: c.orderId, at: c.at, revenue: net }, path, options.models, { halfLifeMs: options.halfLifeMs, removalEffects })) {
			const key = `${row.model}\0${row.channel}\0${row.campaign ?? ''}`;
			const cell = cells.get(key) ?? { model: row.model, channel: row.channel, campaign: row.campaign ?? '', conversions: 0, revenue: 0 };
			cell.conversions += row.share * kept;
			cell.revenue += row.revenue;
			cells.set(key, cell);
		}
		if (kept === 0) continue;
		const name = path.map((t) => t.channel).filter((channel, i, all) => i === 0 || all[i - 1] !== channel).join(' > ');
		const entry = topPaths.get(name) ?? { path: name, conversions: 0, revenue: 0 };
		entry.conversions += kept;
		entry.revenue += net;
		topPaths.set(name, entry);
		const touched = !untouched.has(c.orderId);
		const elapsed = c.at - path[0].at;
		const bucket = touched ? TIME_BUCKETS.find(([, limit]) => elapsed < limit)![0] : NO_TOUCH;
		times.set(bucket, times.get(bucket)! + kept);
		const length = !touched ? '0' : path.length >= 5 ? '5 or more' : String(path.length);
		lengths.set(length, (lengths.get(length) ?? 0) + kept);
	}

	return {
		conversions,
		revenue,
		byChannel: [...cells.values()].filter((c) => c.conversions !== 0 || c.revenue !== 0).sort((a, b) => a.model.localeCompare(b.model) || b.revenue - a.revenue || a.channel.localeCompare(b.channel)),
		topPaths: [...topPaths.values()].sort((a, b) => b.conversions - a.conversions || b.revenue - a.revenue).slice(0, options.topPaths),
		timeToConversion: [...times].map(([bucket, n]) => ({ bucket, conversions: n })),
		pathLength: ['0', '1', '2', '3', '4', '5 or more'].map((touches) => ({ touches, conversions: lengths.get(touches) ?? 0 })),
		lift: liftRows(input.arms ?? []),
	};
}

/** Treated against holdout for each campaign, with a 95 % interval of the rate difference. */
export function liftRows(arms: NonNullable<ReportInput['arms']>): LiftRow[] {
	const campaigns = [...new Set(arms.map((a) => a.campaign))].sort();
	return campaigns.flatMap((campaign) => {
		const t = arms.find((a) => a.campaign === campaign && a.arm === 'treated');
		const h = arms.find((a) => a.campaign === campaign && a.arm === 'holdout');
		if (!t || !h || t.members === 0 || h.members === 0) return [];
		const rt = t.converters / t.members;
		const rh = h.converters / h.members;
		const se = Math.sqrt((rt * (1 - rt)) / t.members + (rh * (1 - rh)) / h.members);
		const difference = rt - rh;
		return [
			{
				campaign,
				treated: t.members,
				treatedConversions: t.converters,
				holdout: h.members,
				holdoutConversions: h.converters,
				treatedRate: rt,
				holdoutRate: rh,
				lift: rh > 0 ? difference / rh : null,
				differenceLow: difference - 1.959963984540054 * se,
				differenceHigh: difference + 1.959963984540054 * se,
				incrementalConversions: difference * t.members,
				incrementalRevenue: (t.revenue / t.members - h.revenue / h.members) * t.members,
			},
		];
	});
}
