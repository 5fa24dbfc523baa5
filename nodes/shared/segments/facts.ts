import type { PredictiveModel } from '../predictive/figures';
import { accountsByIds, currentMemberships } from '../store/accounts';
import type { SqlDriver, SqlValue } from '../store/driver';
import { type NetOrder, netOrdersOf } from '../store/orders';
import { latestFit, NoFitError } from '../store/predictive';
import { type ProfileFields, type ProfileRow, toProfileFields } from '../store/rows';
import { parsed, placeholders, selectIn } from '../store/sql';
import type { FactNeeds } from './needs';

export interface EventFact {
	event: string;
	at: number;
	properties?: Record<string, unknown>;
}

export interface CartFact {
	id: string;
	profileId: string;
	status: string;
	openedAt: number;
	lastActivity: number;
}

/** One event of one of a company's current people: a track event's name, or a page view (`event` its name). */
export interface AccountActivity {
	profileId: string;
	type: string;
	event: string | null;
	at: number;
}

/** A company as its conditions read it, shared by its people in the batch. */
export interface AccountFacts {
	id: string;
	traits: Record<string, unknown>;
	/** The needed events of its current people, within the longest window. */
	activity: AccountActivity[];
}

/** What the store holds about one person that a segment's conditions may read. */
export interface PersonFacts {
	profile: ProfileFields;
	/** The context of the person's latest event: device, time zone, location, locale. */
	context: Record<string, unknown>;
	/** The needed track events, oldest first. */
	events: EventFact[];
	/** Orders net of refunds and cancellations, oldest first. */
	orders: NetOrder[];
	/** The predictive models' latest fit, when a condition reads it. */
	model?: PredictiveModel;
	sends: Array<{ channel: string; at: number }>;
	/** The person's most recently active cart. */
	latestCart?: CartFact;
	/** The company the person currently belongs to, when a condition reads it. */
	account?: AccountFacts;
}

export interface Facts {
	people: Map<string, PersonFacts>;
	carts: Map<string, CartFact>;
}

const ms = (iso: string) => Date.parse(iso);
const iso = (time: number) => new Date(time).toISOString();

/**
 * Loads what `needs` asks for about a batch of people: one query per kind of data, each bounded by
 * the people of the batch and the longest window, so the cost follows the batch, not the store.
 */
export async function loadFacts(db: SqlDriver, needs: FactNeeds, profileIds: string[], cartIds: string[] = []): Promise<Facts> {
	const people = new Map<string, PersonFacts>();
	if (profileIds.length === 0) return { people, carts: new Map() };
	for (const row of await selectIn<ProfileRow>(db, 'SELECT * FROM rt_profiles WHERE id IN (?*)', profileIds)) {
		people.set(row.id, { profile: toProfileFields(row), context: {}, events: [], orders: [], sends: [] });
	}
	const ids = [...people.keys()];
	if (needs.context) await loadContexts(db, people, ids);
	if (needs.events.size) await loadEvents(db, needs, people, ids);
	if (needs.orders) await loadOrders(db, people, ids);
	if (needs.prediction) {
		const model = await latestFit(db);
		if (!model) throw new NoFitError();
		for (const person of people.values()) person.model = model;
	}
	if (needs.sends.size) await loadSends(db, needs, people, ids);
	if (needs.account) await loadAccounts(db, needs, people, ids);
	const carts = needs.carts ? await loadCarts(db, people, ids, cartIds) : new Map<string, CartFact>();
	return { people, carts };
}

async function loadContexts(db: SqlDriver, people: Map<string, PersonFacts>, ids: string[]): Promise<void> {
	// The latest event sent from a device: server-side events (an order from a shop webhook)
	// carry no time zone, user agent or location and would hide the browser's.
	const latest =
		db.dialect === 'postgres'
			? "(SELECT e.body->'context' FROM rt_events e WHERE e.profile_id = p.id AND (e.body->'context'->>'timezone' IS NOT NULL OR e.body->'context'->>'userAgent' IS NOT NULL) ORDER BY e.timestamp DESC LIMIT 1)"
			: "(SELECT json_extract(e.body, '$.context') FROM rt_events e WHERE e.profile_id = p.id AND (json_extract(e.body, '$.context.timezone') IS NOT NULL OR json_extract(e.body, '$.context.userAgent') IS NOT NULL) ORDER BY e.timestamp DESC LIMIT 1)";
	const rows = await selectIn<{ id: string; context: unknown }>(db, `SELECT p.id, ${latest} AS context FROM rt_profiles p WHERE p.id IN (?*)`, ids);
	for (const row of rows) if (row.context) people.get(row.id)!.context = parsed(row.context);
}

async function loadEvents(db: SqlDriver, needs: FactNeeds, people: Map<string, PersonFacts>, ids: string[]): Promise<void> {
	const names = [...needs.events];
	const properties = needs.eventProperties ? (db.dialect === 'postgres' ? ", body->'properties' AS properties" : ", json_extract(body, '$.properties') AS properties") : '';
	const rows = await selectIn<{ profile_id: string; event: string; timestamp: string; properties?: unknown }>(
		db,
		`SELECT profile_id, event, timestamp${properties} FROM rt_events
		 WHERE type = 'track' AND event IN (${placeholders(names.length)}) AND timestamp >= ? AND profile_id IN (?*)
		 ORDER BY timestamp`,
		ids,
		[...names, iso(needs.eventsSince)],
	);
	for (const row of rows) {
		people.get(row.profile_id)!.events.push({
			event: row.event,
			at: ms(row.timestamp),
			...(row.properties ? { properties: parsed<Record<string, unknown>>(row.properties) } : {}),
		});
	}
}

/**
 * Each person's company, and what its current people did within the window: one query for the
 * memberships, one for the companies, one for the events, bounded by the companies of the batch.
 */
async function loadAccounts(db: SqlDriver, needs: FactNeeds, people: Map<string, PersonFacts>, ids: string[]): Promise<void> {
	const memberships = await currentMemberships(db, ids);
	const accounts = new Map<string, AccountFacts>();
	for (const account of (await accountsByIds(db, [...new Set([...memberships.values()].map((m) => m.accountId))])).values()) {
		accounts.set(account.id, { id: account.id, traits: account.traits, activity: [] });
	}
	const names = [...needs.accountEvents];
	if (accounts.size && (needs.accountAnyEvent || names.length)) {
		// Any event is a visit or an action: identify, group and alias calls are not engagement.
		const which = needs.accountAnyEvent ? "e.type IN ('track', 'page')" : `e.type = 'track' AND e.event IN (${placeholders(names.length)})`;
		const rows = await selectIn<{ account_id: string; profile_id: string; type: string; event: string | null; timestamp: string }>(
			db,
			`SELECT m.account_id, e.profile_id, e.type, e.event, e.timestamp FROM rt_account_members m JOIN rt_events e ON e.profile_id = m.profile_id
			 WHERE ${which} AND e.timestamp >= ? AND m.left_at IS NULL AND m.account_id IN (?*)`,
			[...accounts.keys()],
			[...(needs.accountAnyEvent ? [] : names), iso(needs.accountEventsSince)],
		);
		for (const row of rows) {
			accounts.get(row.account_id)!.activity.push({ profileId: row.profile_id, type: row.type, event: row.event, at: ms(row.timestamp) });
		}
	}
	for (const [profileId, membership] of memberships) {
		const account = accounts.get(membership.accountId);
		if (account) people.get(profileId)!.account = account;
	}
}

async function loadOrders(db: SqlDriver, people: Map<string, PersonFacts>, ids: string[]): Promise<void> {
	for (const [id, orders] of await netOrdersOf(db, ids)) people.get(id)!.orders = orders;
}

async function loadSends(db: SqlDriver, needs: FactNeeds, people: Map<string, PersonFacts>, ids: string[]): Promise<void> {
	const channels = [...needs.sends];
	const rows = await selectIn<{ profile_id: string; channel: string; created_at: string }>(
		db,
		`SELECT profile_id, channel, created_at FROM rt_sends
		 WHERE channel IN (${placeholders(channels.length)}) AND created_at >= ? AND status <> 'failed' AND profile_id IN (?*)`,
		ids,
		[...channels, iso(needs.sendsSince)] as SqlValue[],
	);
	for (const row of rows) people.get(row.profile_id)!.sends.push({ channel: row.channel, at: ms(row.created_at) });
}

/** The carts asked for by ID, and each person's most recently active cart. */
async function loadCarts(db: SqlDriver, people: Map<string, PersonFacts>, ids: string[], cartIds: string[]): Promise<Map<string, CartFact>> {
	type Row = { id: string; profile_id: string; status: string; opened_at: string; last_activity: string };
	const columns = 'SELECT id, profile_id, status, opened_at, last_activity FROM rt_carts';
	const toFact = (r: Row): CartFact => ({
		id: r.id,
		profileId: r.profile_id,
		status: r.status,
		openedAt: ms(r.opened_at),
		lastActivity: ms(r.last_activity),
	});
	const carts = new Map<string, CartFact>();
	for (const row of await selectIn<Row>(db, `${columns} WHERE id IN (?*)`, cartIds)) carts.set(row.id, toFact(row));
	for (const row of await selectIn<Row>(db, `${columns} WHERE profile_id IN (?*)`, ids)) {
		const person = people.get(row.profile_id)!;
		const cart = toFact(row);
		if (!person.latestCart || cart.lastActivity > person.latestCart.lastActivity) person.latestCart = cart;
	}
	return carts;
}
