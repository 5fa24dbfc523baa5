/**
 * What attribution reads and writes in the store: touchpoints, conversions (deduplicated by order
 * ID, with what refunds took back) and the arms of holdout campaigns.
 */
import type { StoredTouchpoint } from '../attribution/channels';
import { conversionKept, netRevenue, type ReportInput, type StoredConversion } from '../attribution/report';
import type { SqlDriver, SqlValue } from './driver';
import { liveProfiles } from './identity';
import { insertRows, selectIn, takeTurns } from './sql';

export type Arm = 'treated' | 'holdout';

/** Records who of a campaign was treated or held out; a person's first draw stands, an erased person gets none. */
export async function recordArms(db: SqlDriver, campaign: string, members: ReadonlyArray<{ profileId: string; arm: Arm }>, at: Date): Promise<void> {
	if (members.length === 0) return;
	await db.transaction(async (tx) => {
		const live = await liveProfiles(tx, members.map((m) => m.profileId));
		const seen = new Set<string>();
		const rows: SqlValue[][] = [];
		for (const m of members) {
			if (seen.has(m.profileId) || !live.has(m.profileId)) continue;
			seen.add(m.profileId);
			rows.push([campaign, m.profileId, m.arm, at.toISOString()]);
		}
		await insertRows(tx, 'INSERT INTO rt_campaign_members (campaign, profile_id, arm, assigned_at)', rows, 'ON CONFLICT (campaign, profile_id) DO NOTHING');
	});
}

/** The arm each of these people was drawn into for the campaign, for those drawn before. */
export async function armsOf(db: SqlDriver, campaign: string, profileIds: string[]): Promise<Map<string, Arm>> {
	const rows = await selectIn<{ profile_id: string; arm: Arm }>(db, 'SELECT profile_id, arm FROM rt_campaign_members WHERE campaign = ? AND profile_id IN (?*)', profileIds, [campaign]);
	return new Map(rows.map((r) => [r.profile_id, r.arm]));
}

/** A touchpoint to record; `id` names it at its source, so that logging it again changes nothing. */
export type NewTouchpoint = Omit<StoredTouchpoint, 'at'> & { profileId: string; at: Date; id?: string };

export async function insertTouchpoints(db: SqlDriver, touchpoints: readonly NewTouchpoint[]): Promise<void> {
	await insertRows(
		db,
		'INSERT INTO rt_touchpoints (profile_id, message_id, channel, source, medium, campaign, click_id, kind, occurred_at)',
		touchpoints.map((t) => [t.profileId, t.id ?? null, t.channel, t.source, t.medium, t.campaign, t.clickId, t.kind, t.at.toISOString()]),
	);
}

/**
 * Records the touchpoints whose ID is not stored yet, in one transaction, and tells for each
 * whether it was `logged`, a `duplicate` (already stored, or named again earlier in the list) or
 * `gone` (the person was erased since they were found). Logging runs take turns, so two retries
 * racing cannot both record one touchpoint.
 */
export async function logTouchpoints(db: SqlDriver, touchpoints: ReadonlyArray<NewTouchpoint & { id: string }>): Promise<Array<'logged' | 'duplicate' | 'gone'>> {
	return await db.transaction(async (tx) => {
		await takeTurns(tx, 'rt_touchpoints');
		const live = await liveProfiles(tx, touchpoints.map((t) => t.profileId));
		const seen = new Set(
			(await selectIn<{ message_id: string }>(tx, 'SELECT message_id FROM rt_touchpoints WHERE message_id IN (?*)', touchpoints.map((t) => t.id))).map((r) => r.message_id),
		);
		const results = touchpoints.map((t) => {
			if (!live.has(t.profileId)) return 'gone' as const;
			if (seen.has(t.id)) return 'duplicate' as const;
			seen.add(t.id);
			return 'logged' as const;
		});
		await insertTouchpoints(tx, touchpoints.filter((_, i) => results[i] === 'logged'));
		return results;
	});
}

/**
 * Records conversions not seen before (by order ID) and gives each its stored record, in order: an
 * order already stored keeps its first record, and it, or an order named again by an earlier
 * conversion of the same list, is a duplicate.
 */
export async function recordConversions(
	db: SqlDriver,
	conversions: ReadonlyArray<{ orderId: string; profileId: string; revenue: number; currency: string | null; at: Date }>,
): Promise<Array<StoredConversion & { duplicate: boolean }>> {
	const before = await conversionsByOrder(db, conversions.map((c) => c.orderId));
	await insertRows(
		db,
		'INSERT INTO rt_conversions (order_id, profile_id, revenue, currency, status, occurred_at)',
		conversions.filter((c) => !before.has(c.orderId)).map((c) => [c.orderId, c.profileId, c.revenue, c.currency, 'completed', c.at.toISOString()]),
		'ON CONFLICT (order_id) DO NOTHING',
	);
	const after = await conversionsByOrder(db, conversions.map((c) => c.orderId));
	const seen = new Set<string>();
	return conversions.map((c) => {
		const duplicate = before.has(c.orderId) || seen.has(c.orderId);
		seen.add(c.orderId);
		return { ...after.get(c.orderId)!, duplicate };
	});
}

interface ConversionRow {
	order_id: string;
	profile_id: string;
	revenue: number;
	refunded: number;
	status: string;
	occurred_at: string;
}

const CONVERSION_COLUMNS = 'order_id, profile_id, revenue, refunded, status, occurred_at';

const toConversion = (r: ConversionRow): StoredConversion => ({
	orderId: r.order_id,
	profileId: r.profile_id,
	at: Date.parse(r.occurred_at),
	revenue: Number(r.revenue),
	refunded: Number(r.refunded),
	status: r.status,
});

async function conversionsByOrder(db: SqlDriver, orderIds: string[]): Promise<Map<string, StoredConversion>> {
	const rows = await selectIn<ConversionRow>(db, `SELECT ${CONVERSION_COLUMNS} FROM rt_conversions WHERE order_id IN (?*)`, orderIds);
	return new Map(rows.map((r) => [r.order_id, toConversion(r)]));
}

interface TouchpointRow {
	id: number;
	profile_id: string;
	kind: string;
	channel: string | null;
	source: string | null;
	medium: string | null;
	campaign: string | null;
	click_id: string | null;
	occurred_at: string;
}

type ByPerson = Map<string, Array<StoredTouchpoint & { id: number }>>;

/** Adds rows to their person's list; `shared` gives the copy of a repeated value to keep. */
function addByPerson(lists: ByPerson, rows: readonly TouchpointRow[], shared: (value: string | null) => string | null = (value) => value): void {
	for (const r of rows) {
		const t = { id: Number(r.id), kind: shared(r.kind)!, channel: shared(r.channel), source: shared(r.source), medium: shared(r.medium), campaign: shared(r.campaign), clickId: r.click_id, at: Date.parse(r.occurred_at) };
		const list = lists.get(r.profile_id);
		if (list) list.push(t);
		else lists.set(r.profile_id, [t]);
	}
}

/** Each list in time order (rows of the same time in the order stored). */
function inTimeOrder(lists: ByPerson): ByPerson {
	for (const list of lists.values()) list.sort((a, b) => a.at - b.at || a.id - b.id);
	return lists;
}

const TOUCHPOINT_COLUMNS = 'id, profile_id, kind, channel, source, medium, campaign, click_id, occurred_at';

/** The touchpoints of these people since `since`, by person, in time order. */
export async function touchpointsOf(db: SqlDriver, profileIds: string[], since: Date): Promise<Map<string, StoredTouchpoint[]>> {
	const rows = await selectIn<TouchpointRow>(db, `SELECT ${TOUCHPOINT_COLUMNS} FROM rt_touchpoints WHERE occurred_at >= ? AND profile_id IN (?*)`, profileIds, [since.toISOString()]);
	const lists: ByPerson = new Map();
	addByPerson(lists, rows);
	return inTimeOrder(lists);
}

/** Touchpoints read a page when a report reads every one of its period. */
const TOUCHPOINT_PAGE = 10_000;

/**
 * Everyone's touchpoints of [from, to), by person, in time order: read a page at a time in (time,
 * id) order, so that each page's rows are garbage before the next is read, and the values that
 * repeat (kind, channel, source, medium, campaign) kept once. A million touchpoints then cost the
 * memory of the lists, not of a million database rows as well (on SQLite, 700 MB of them).
 */
async function touchpointsBetween(db: SqlDriver, from: string, to: string): Promise<ByPerson> {
	const lists: ByPerson = new Map();
	const kept = new Map<string, string>();
	const shared = (value: string | null) => (value === null ? null : (kept.get(value) ?? (kept.set(value, value), value)));
	let after = { at: from, id: 0 };
	for (;;) {
		const rows = await db.all<TouchpointRow>(
			`SELECT ${TOUCHPOINT_COLUMNS} FROM rt_touchpoints WHERE occurred_at >= ? AND occurred_at < ? AND (occurred_at > ? OR id > ?) ORDER BY occurred_at, id LIMIT ${TOUCHPOINT_PAGE}`,
			[after.at, to, after.at, after.id],
		);
		addByPerson(lists, rows, shared);
		if (rows.length < TOUCHPOINT_PAGE) return inTimeOrder(lists);
		const last = rows[rows.length - 1];
		after = { at: last.occurred_at, id: Number(last.id) };
	}
}

/**
 * What the report of [from, to) reads: its conversions; everyone's touchpoints from `lookbackMs`
 * before `from` (the journeys of people who did not convert too, for the Markov model); and the
 * arms of the campaigns drawn in the period, with who of each converted within `lookbackMs` of
 * being drawn, and their revenue net of refunds.
 */
export async function reportInput(db: SqlDriver, from: Date, to: Date, lookbackMs: number): Promise<ReportInput> {
	const conversions = await db.all<ConversionRow>(`SELECT ${CONVERSION_COLUMNS} FROM rt_conversions WHERE occurred_at >= ? AND occurred_at < ?`, [
		from.toISOString(),
		to.toISOString(),
	]);
	const touchpoints = await touchpointsBetween(db, new Date(from.getTime() - lookbackMs).toISOString(), to.toISOString());
	const drawn = await db.all<{ campaign: string; arm: Arm; profile_id: string; assigned_at: string; occurred_at: string | null; revenue: number; refunded: number; status: string }>(
		`SELECT m.campaign, m.arm, m.profile_id, m.assigned_at, v.occurred_at, v.revenue, v.refunded, v.status
		 FROM rt_campaign_members m LEFT JOIN rt_conversions v ON v.profile_id = m.profile_id AND v.occurred_at >= m.assigned_at
		 WHERE m.assigned_at >= ? AND m.assigned_at < ?`,
		[from.toISOString(), to.toISOString()],
	);
	const arms = new Map<string, { campaign: string; arm: Arm; members: Set<string>; converters: Set<string>; revenue: number }>();
	for (const r of drawn) {
		const key = `${r.campaign}\0${r.arm}`;
		let arm = arms.get(key);
		if (!arm) arms.set(key, (arm = { campaign: r.campaign, arm: r.arm, members: new Set(), converters: new Set(), revenue: 0 }));
		arm.members.add(r.profile_id);
		if (r.occurred_at === null) continue;
		const conversion = { revenue: Number(r.revenue), refunded: Number(r.refunded), status: r.status };
		if (Date.parse(r.occurred_at) - Date.parse(r.assigned_at) <= lookbackMs && conversionKept(conversion)) {
			arm.converters.add(r.profile_id);
			arm.revenue += netRevenue(conversion);
		}
	}
	return {
		conversions: conversions.map(toConversion),
		touchpoints,
		arms: [...arms.values()].map((a) => ({ campaign: a.campaign, arm: a.arm, members: a.members.size, converters: a.converters.size, revenue: a.revenue })),
	};
}
