import { randomUUID } from 'node:crypto';

import type { Consent, TrackedEvent } from '../events/model';
import { applyCartEvent, CART_EVENTS, newCart, ORDER_EVENT, orderRevenue, type Cart } from './carts';
import type { SqlDriver, SqlValue } from './driver';
import { migrate } from './migrations';

export type IdentityKind = 'userId' | 'email' | 'anonymousId';

export interface Identity {
	kind: IdentityKind;
	value: string;
}

export interface Profile {
	id: string;
	userId: string | null;
	email: string | null;
	traits: Record<string, unknown>;
	consent: Consent;
	suppressed: boolean;
	suppressedReason: string | null;
	firstSeen: string;
	lastSeen: string;
	eventCount: number;
	orderCount: number;
	revenue: number;
	identities: Identity[];
}

/** How a person is found: by the store's own id, or by any id they were seen with. */
export interface ProfileRef {
	profileId?: string;
	userId?: string;
	email?: string;
	anonymousId?: string;
}

export interface AppendResult {
	stored: Array<{ messageId: string; profileId: string }>;
	/** messageIds already stored (or repeated within the batch): nothing was changed for them. */
	duplicates: string[];
}

export interface ProfileExport {
	profile: Profile;
	events: TrackedEvent[];
	carts: Cart[];
	sends: Array<Record<string, unknown>>;
	touchpoints: Array<Record<string, unknown>>;
	conversions: Array<Record<string, unknown>>;
}

const PERSONAL_TABLES = ['rt_events', 'rt_carts', 'rt_sends', 'rt_touchpoints', 'rt_conversions', 'rt_identities'] as const;

export function normalizeEmail(email: string): string {
	return email.trim().toLowerCase();
}

function json(value: unknown): string {
	return JSON.stringify(value);
}

/** JSONB comes back parsed from PostgreSQL, TEXT as a string from SQLite. */
function parsed<T>(value: unknown): T {
	return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

function placeholders(n: number): string {
	return Array.from({ length: n }, () => '?').join(', ');
}

interface ProfileRow {
	id: string;
	user_id: string | null;
	email: string | null;
	traits: unknown;
	consent: unknown;
	suppressed: number;
	suppressed_reason: string | null;
	first_seen: string;
	last_seen: string;
	event_count: number;
	order_count: number;
	revenue: number;
}

interface CartRow {
	id: string;
	profile_id: string;
	items: unknown;
	value: number;
	currency: string | null;
	status: Cart['status'];
	opened_at: string;
	last_activity: string;
	steps_sent: unknown;
	converted_at: string | null;
	order_id: string | null;
}

function toCart(row: CartRow): Cart {
	return {
		id: row.id,
		profileId: row.profile_id,
		items: parsed(row.items),
		value: Number(row.value),
		currency: row.currency,
		status: row.status,
		openedAt: row.opened_at,
		lastActivity: row.last_activity,
		stepsSent: parsed(row.steps_sent),
		convertedAt: row.converted_at,
		orderId: row.order_id,
	};
}

/** Per-profile changes gathered over a batch and written once. */
interface ProfileDelta {
	events: number;
	orders: number;
	revenue: number;
	firstSeen: string;
	lastSeen: string;
	traits: Record<string, unknown>;
	consent: Consent;
}

/**
 * The retargeting store on any SqlDriver: events, profiles and identity links, carts, sends,
 * touchpoints and conversions.
 */
export class RetargetingStore {
	readonly driver: SqlDriver;

	constructor(driver: SqlDriver) {
		this.driver = driver;
	}

	async migrate(): Promise<number> {
		return await migrate(this.driver);
	}

	async close(): Promise<void> {
		await this.driver.close();
	}

	/**
	 * Stores a batch of validated events in one transaction: dedup by messageId, identity stitching,
	 * profile counters, consent, carts, conversions and touchpoints.
	 */
	async appendEvents(events: TrackedEvent[]): Promise<AppendResult> {
		if (events.length === 0) return { stored: [], duplicates: [] };
		return await this.driver.transaction(async (tx) => {
			const existing = new Set<string>();
			for (let i = 0; i < events.length; i += 500) {
				const ids = events.slice(i, i + 500).map((e) => e.messageId);
				const rows = await tx.all<{ message_id: string }>(
					`SELECT message_id FROM rt_events WHERE message_id IN (${placeholders(ids.length)})`,
					ids,
				);
				for (const row of rows) existing.add(row.message_id);
			}
			const result: AppendResult = { stored: [], duplicates: [] };
			const identityCache = new Map<string, string>();
			const deltas = new Map<string, ProfileDelta>();
			for (const event of events) {
				if (existing.has(event.messageId)) {
					result.duplicates.push(event.messageId);
					continue;
				}
				existing.add(event.messageId);
				const profileId = await this.resolveIdentity(tx, event, identityCache, deltas);
				await tx.run(
					`INSERT INTO rt_events (message_id, profile_id, type, event, anonymous_id, user_id, timestamp, received_at, body)
					 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					[
						event.messageId,
						profileId,
						event.type,
						event.event,
						event.anonymousId,
						event.userId,
						event.timestamp,
						event.receivedAt,
						json(event),
					],
				);
				this.collectDelta(deltas, profileId, event);
				await this.recordCommerce(tx, profileId, event);
				await this.recordTouchpoint(tx, profileId, event);
				result.stored.push({ messageId: event.messageId, profileId });
			}
			for (const [profileId, delta] of deltas) await this.applyDelta(tx, profileId, delta);
			return result;
		});
	}

	private collectDelta(deltas: Map<string, ProfileDelta>, profileId: string, event: TrackedEvent): void {
		let delta = deltas.get(profileId);
		if (!delta) {
			delta = { events: 0, orders: 0, revenue: 0, firstSeen: event.timestamp, lastSeen: event.timestamp, traits: {}, consent: {} };
			deltas.set(profileId, delta);
		}
		delta.events += 1;
		if (event.timestamp < delta.firstSeen) delta.firstSeen = event.timestamp;
		if (event.timestamp > delta.lastSeen) delta.lastSeen = event.timestamp;
		if (event.type === 'identify') Object.assign(delta.traits, event.traits);
		if (event.context.consent) Object.assign(delta.consent, event.context.consent);
		if (event.event === ORDER_EVENT) {
			delta.orders += 1;
			delta.revenue += orderRevenue(event.properties) ?? 0;
		}
	}

	private async applyDelta(tx: SqlDriver, profileId: string, delta: ProfileDelta): Promise<void> {
		const counters = [delta.events, delta.orders, delta.revenue, delta.firstSeen, delta.firstSeen, delta.lastSeen, delta.lastSeen];
		const countersSql = `event_count = event_count + ?, order_count = order_count + ?, revenue = revenue + ?,
			 first_seen = CASE WHEN first_seen < ? THEN first_seen ELSE ? END,
			 last_seen = CASE WHEN last_seen > ? THEN last_seen ELSE ? END`;
		if (Object.keys(delta.traits).length === 0 && Object.keys(delta.consent).length === 0) {
			await tx.run(`UPDATE rt_profiles SET ${countersSql} WHERE id = ?`, [...counters, profileId]);
			return;
		}
		const [row] = await tx.all<ProfileRow>('SELECT traits, consent FROM rt_profiles WHERE id = ?', [profileId]);
		if (!row) return;
		const traits = { ...parsed<Record<string, unknown>>(row.traits), ...delta.traits };
		const consent = { ...parsed<Consent>(row.consent), ...delta.consent };
		await tx.run(`UPDATE rt_profiles SET traits = ?, consent = ?, ${countersSql} WHERE id = ?`, [
			json(traits),
			json(consent),
			...counters,
			profileId,
		]);
	}

	/** The ids an event names, strongest first. */
	private static identitiesOf(event: TrackedEvent): Identity[] {
		const ids: Identity[] = [];
		if (event.userId) ids.push({ kind: 'userId', value: event.userId });
		const email = event.traits.email ?? (event.type === 'identify' ? undefined : event.properties.email);
		if (typeof email === 'string' && email.includes('@')) ids.push({ kind: 'email', value: normalizeEmail(email) });
		if (event.anonymousId) ids.push({ kind: 'anonymousId', value: event.anonymousId });
		return ids;
	}

	private async lookup(tx: SqlDriver, id: Identity, cache: Map<string, string>): Promise<string | undefined> {
		const key = `${id.kind}:${id.value}`;
		const cached = cache.get(key);
		if (cached) return cached;
		const [row] = await tx.all<{ profile_id: string }>(
			'SELECT profile_id FROM rt_identities WHERE kind = ? AND value = ?',
			[id.kind, id.value],
		);
		if (row) cache.set(key, row.profile_id);
		return row?.profile_id;
	}

	/**
	 * The profile an event belongs to. Links every id it names to that profile, and merges profiles
	 * it shows to be one person (an anonymous visitor who logs in). Two profiles with different
	 * userIds are never merged: the event goes to the one its userId names.
	 */
	private async resolveIdentity(
		tx: SqlDriver,
		event: TrackedEvent,
		cache: Map<string, string>,
		deltas: Map<string, ProfileDelta>,
	): Promise<string> {
		const ids = RetargetingStore.identitiesOf(event);
		if (event.type === 'alias' && event.previousId) {
			const previous =
				(await this.lookup(tx, { kind: 'userId', value: event.previousId }, cache)) ??
				(await this.lookup(tx, { kind: 'anonymousId', value: event.previousId }, cache));
			if (!previous) ids.push({ kind: 'anonymousId', value: event.previousId });
			else {
				const target = await this.lookup(tx, ids[0], cache);
				if (target && target !== previous) await this.mergeInto(tx, target, previous, cache, deltas);
				else if (!target) {
					await this.link(tx, previous, ids[0], cache, event.timestamp);
					return previous;
				}
			}
		}
		const owners = new Map<string, string | undefined>();
		for (const id of ids) owners.set(`${id.kind}:${id.value}`, await this.lookup(tx, id, cache));
		const userIdOf = async (profileId: string) =>
			(await tx.all<{ user_id: string | null }>('SELECT user_id FROM rt_profiles WHERE id = ?', [profileId]))[0]?.user_id ?? null;
		/** Another profile is the same person unless both carry different userIds. */
		const compatible = async (profileId: string, userId: string | null) => {
			if (!userId) return true;
			const theirs = await userIdOf(profileId);
			return !theirs || theirs === userId;
		};
		let primary = event.userId ? owners.get(`userId:${event.userId}`) : undefined;
		for (const owner of new Set(owners.values())) {
			if (primary) break;
			if (owner && (await compatible(owner, event.userId))) primary = owner;
		}
		if (!primary) {
			primary = randomUUID();
			await tx.run(
				`INSERT INTO rt_profiles (id, user_id, email, traits, consent, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				[primary, null, null, '{}', '{}', event.timestamp, event.timestamp],
			);
		}
		let primaryUserId: string | null | undefined = event.userId;
		for (const id of ids) {
			const owner = owners.get(`${id.kind}:${id.value}`);
			if (owner === undefined) await this.link(tx, primary, id, cache, event.timestamp);
			else if (owner !== primary) {
				primaryUserId ??= await userIdOf(primary);
				if (await compatible(owner, primaryUserId)) await this.mergeInto(tx, primary, owner, cache, deltas);
			}
		}
		return primary;
	}

	private async link(tx: SqlDriver, profileId: string, id: Identity, cache: Map<string, string>, at: string): Promise<void> {
		await tx.run(
			'INSERT INTO rt_identities (kind, value, profile_id, linked_at) VALUES (?, ?, ?, ?) ON CONFLICT (kind, value) DO NOTHING',
			[id.kind, id.value, profileId, at],
		);
		cache.set(`${id.kind}:${id.value}`, profileId);
		if (id.kind === 'userId') await tx.run('UPDATE rt_profiles SET user_id = ? WHERE id = ? AND user_id IS NULL', [id.value, profileId]);
		if (id.kind === 'email') await tx.run('UPDATE rt_profiles SET email = ? WHERE id = ? AND email IS NULL', [id.value, profileId]);
	}

	/**
	 * Moves everything of `dropId` to `keepId` and deletes `dropId`. Traits of the kept profile win;
	 * a consent withdrawn on either side stays withdrawn; suppression and counters add up.
	 */
	private async mergeInto(
		tx: SqlDriver,
		keepId: string,
		dropId: string,
		cache: Map<string, string>,
		deltas?: Map<string, ProfileDelta>,
	): Promise<void> {
		const [keep] = await tx.all<ProfileRow>('SELECT * FROM rt_profiles WHERE id = ?', [keepId]);
		const [drop] = await tx.all<ProfileRow>('SELECT * FROM rt_profiles WHERE id = ?', [dropId]);
		if (!keep || !drop) return;
		for (const table of PERSONAL_TABLES) {
			await tx.run(`UPDATE ${table} SET profile_id = ? WHERE profile_id = ?`, [keepId, dropId]);
		}
		const keepConsent = parsed<Consent>(keep.consent);
		const dropConsent = parsed<Consent>(drop.consent);
		const consent: Consent = { ...dropConsent, ...keepConsent };
		for (const purpose of Object.keys(consent) as Array<keyof Consent>) {
			if (keepConsent[purpose] === false || dropConsent[purpose] === false) consent[purpose] = false;
		}
		await tx.run(
			`UPDATE rt_profiles SET traits = ?, consent = ?, user_id = COALESCE(user_id, ?), email = COALESCE(email, ?),
			 suppressed = CASE WHEN suppressed > ? THEN suppressed ELSE ? END, suppressed_reason = COALESCE(suppressed_reason, ?),
			 first_seen = CASE WHEN first_seen < ? THEN first_seen ELSE ? END, last_seen = CASE WHEN last_seen > ? THEN last_seen ELSE ? END,
			 event_count = event_count + ?, order_count = order_count + ?, revenue = revenue + ? WHERE id = ?`,
			[
				json({ ...parsed<Record<string, unknown>>(drop.traits), ...parsed<Record<string, unknown>>(keep.traits) }),
				json(consent),
				drop.user_id,
				drop.email,
				drop.suppressed,
				drop.suppressed,
				drop.suppressed_reason,
				drop.first_seen,
				drop.first_seen,
				drop.last_seen,
				drop.last_seen,
				drop.event_count,
				drop.order_count,
				drop.revenue,
				keepId,
			],
		);
		await tx.run('DELETE FROM rt_profiles WHERE id = ?', [dropId]);
		for (const [key, owner] of cache) if (owner === dropId) cache.set(key, keepId);
		const pending = deltas?.get(dropId);
		if (deltas && pending) {
			deltas.delete(dropId);
			const into = deltas.get(keepId);
			if (!into) deltas.set(keepId, pending);
			else {
				into.events += pending.events;
				into.orders += pending.orders;
				into.revenue += pending.revenue;
				if (pending.firstSeen < into.firstSeen) into.firstSeen = pending.firstSeen;
				if (pending.lastSeen > into.lastSeen) into.lastSeen = pending.lastSeen;
				into.traits = { ...pending.traits, ...into.traits };
				into.consent = { ...pending.consent, ...into.consent };
			}
		}
	}

	private async recordCommerce(tx: SqlDriver, profileId: string, event: TrackedEvent): Promise<void> {
		if (event.type !== 'track' || !event.event) return;
		const props = event.properties;
		if ((CART_EVENTS as readonly string[]).includes(event.event)) {
			const cartId = props.cart_id !== undefined ? String(props.cart_id) : undefined;
			const [row] = cartId
				? await tx.all<CartRow>('SELECT * FROM rt_carts WHERE id = ?', [cartId])
				: await tx.all<CartRow>(
						"SELECT * FROM rt_carts WHERE profile_id = ? AND status IN ('open', 'emptied') ORDER BY last_activity DESC LIMIT 1",
						[profileId],
					);
			const current = row && row.status !== 'converted' ? toCart(row) : newCart(cartId ?? randomUUID(), profileId, event.timestamp);
			const next = applyCartEvent(current, event);
			await tx.run(
				`INSERT INTO rt_carts (id, profile_id, items, value, currency, status, opened_at, last_activity, steps_sent, converted_at, order_id)
				 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				 ON CONFLICT (id) DO UPDATE SET items = excluded.items, value = excluded.value, currency = excluded.currency,
				 status = excluded.status, last_activity = excluded.last_activity`,
				[
					next.id,
					profileId,
					json(next.items),
					next.value,
					next.currency,
					next.status,
					next.openedAt,
					next.lastActivity,
					json(next.stepsSent),
					null,
					null,
				],
			);
		} else if (event.event === ORDER_EVENT) {
			const orderId = props.order_id !== undefined ? String(props.order_id) : event.messageId;
			const revenue = orderRevenue(props);
			await tx.run(
				`INSERT INTO rt_conversions (order_id, profile_id, revenue, currency, status, occurred_at) VALUES (?, ?, ?, ?, 'completed', ?)
				 ON CONFLICT (order_id) DO NOTHING`,
				[orderId, profileId, revenue ?? 0, (props.currency as string | undefined) ?? null, event.timestamp],
			);
			const closing: [string, SqlValue[]] =
				props.cart_id !== undefined
					? ["UPDATE rt_carts SET status = 'converted', converted_at = ?, order_id = ? WHERE id = ?", [event.timestamp, orderId, String(props.cart_id)]]
					: [
							"UPDATE rt_carts SET status = 'converted', converted_at = ?, order_id = ? WHERE profile_id = ? AND status IN ('open', 'emptied')",
							[event.timestamp, orderId, profileId],
						];
			await tx.run(closing[0], closing[1]);
		}
	}

	/** A visit that came from a campaign or an ad click is a touchpoint for attribution. */
	private async recordTouchpoint(tx: SqlDriver, profileId: string, event: TrackedEvent): Promise<void> {
		const { campaign, clickIds } = event.context;
		const clickId = clickIds ? Object.entries(clickIds)[0] : undefined;
		if (!campaign && !clickId) return;
		await tx.run(
			`INSERT INTO rt_touchpoints (profile_id, message_id, channel, source, medium, campaign, click_id, kind, occurred_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, 'visit', ?)`,
			[
				profileId,
				event.messageId,
				null,
				campaign?.source ?? null,
				campaign?.medium ?? null,
				campaign?.name ?? null,
				clickId ? `${clickId[0]}:${clickId[1]}` : null,
				event.timestamp,
			],
		);
	}

	/** The profile of a person, found by any of their ids. */
	async findProfile(ref: ProfileRef): Promise<Profile | undefined> {
		const profileId = await this.profileIdOf(this.driver, ref);
		if (!profileId) return undefined;
		const [row] = await this.driver.all<ProfileRow>('SELECT * FROM rt_profiles WHERE id = ?', [profileId]);
		if (!row) return undefined;
		const identities = await this.driver.all<Identity>(
			'SELECT kind, value FROM rt_identities WHERE profile_id = ? ORDER BY kind, value',
			[profileId],
		);
		return {
			id: row.id,
			userId: row.user_id,
			email: row.email,
			traits: parsed(row.traits),
			consent: parsed(row.consent),
			suppressed: Number(row.suppressed) === 1,
			suppressedReason: row.suppressed_reason,
			firstSeen: row.first_seen,
			lastSeen: row.last_seen,
			eventCount: Number(row.event_count),
			orderCount: Number(row.order_count),
			revenue: Number(row.revenue),
			identities,
		};
	}

	private async profileIdOf(db: SqlDriver, ref: ProfileRef): Promise<string | undefined> {
		if (ref.profileId) return ref.profileId;
		const candidates: Identity[] = [];
		if (ref.userId) candidates.push({ kind: 'userId', value: ref.userId });
		if (ref.email) candidates.push({ kind: 'email', value: normalizeEmail(ref.email) });
		if (ref.anonymousId) candidates.push({ kind: 'anonymousId', value: ref.anonymousId });
		for (const id of candidates) {
			const profileId = await this.lookup(db, id, new Map());
			if (profileId) return profileId;
		}
		return undefined;
	}

	/** A person's events, oldest first, including what they did while anonymous. */
	async history(profileId: string, limit = 1000): Promise<TrackedEvent[]> {
		const rows = await this.driver.all<{ body: unknown }>(
			'SELECT body FROM rt_events WHERE profile_id = ? ORDER BY timestamp, message_id LIMIT ?',
			[profileId, limit],
		);
		return rows.map((r) => parsed<TrackedEvent>(r.body));
	}

	async cartsOf(profileId: string): Promise<Cart[]> {
		const rows = await this.driver.all<CartRow>('SELECT * FROM rt_carts WHERE profile_id = ? ORDER BY opened_at', [profileId]);
		return rows.map(toCart);
	}

	async getCart(cartId: string): Promise<Cart | undefined> {
		const [row] = await this.driver.all<CartRow>('SELECT * FROM rt_carts WHERE id = ?', [cartId]);
		return row ? toCart(row) : undefined;
	}

	/** Creates or updates a person from known ids, traits and consent (a CRM import, a form). */
	async upsertProfile(
		ref: Omit<ProfileRef, 'profileId'>,
		changes: { traits?: Record<string, unknown>; consent?: Consent },
	): Promise<Profile> {
		const now = new Date().toISOString();
		await this.appendEvents([
			{
				messageId: `upsert-${randomUUID()}`,
				type: 'identify',
				event: null,
				anonymousId: ref.anonymousId ?? null,
				userId: ref.userId ?? null,
				previousId: null,
				groupId: null,
				timestamp: now,
				receivedAt: now,
				properties: {},
				traits: { ...changes.traits, ...(ref.email ? { email: ref.email } : {}) },
				context: changes.consent ? { consent: changes.consent } : {},
			},
		]);
		const profile = await this.findProfile(ref);
		if (!profile) throw new Error('the profile could not be created');
		return profile;
	}

	/** Merges two people known to be one; the first keeps its id. */
	async mergeProfiles(keep: ProfileRef, drop: ProfileRef): Promise<Profile | undefined> {
		const keepId = await this.profileIdOf(this.driver, keep);
		const dropId = await this.profileIdOf(this.driver, drop);
		if (!keepId || !dropId) return undefined;
		if (keepId !== dropId) await this.driver.transaction(async (tx) => await this.mergeInto(tx, keepId, dropId, new Map()));
		return await this.findProfile({ profileId: keepId });
	}

	/** Suppressed people get no email and are pushed to no audience, whatever their consent says. */
	async setSuppressed(ref: ProfileRef, suppressed: boolean, reason?: string): Promise<Profile | undefined> {
		const profileId = await this.profileIdOf(this.driver, ref);
		if (!profileId) return undefined;
		await this.driver.run('UPDATE rt_profiles SET suppressed = ?, suppressed_reason = ? WHERE id = ?', [
			suppressed ? 1 : 0,
			suppressed ? (reason ?? null) : null,
			profileId,
		]);
		return await this.findProfile({ profileId });
	}

	/** Everything held about a person, for an access request. */
	async exportProfile(ref: ProfileRef): Promise<ProfileExport | undefined> {
		const profile = await this.findProfile(ref);
		if (!profile) return undefined;
		const rows = (table: string) =>
			this.driver.all<Record<string, unknown>>(`SELECT * FROM ${table} WHERE profile_id = ?`, [profile.id]);
		return {
			profile,
			events: await this.history(profile.id, 1_000_000),
			carts: await this.cartsOf(profile.id),
			sends: await rows('rt_sends'),
			touchpoints: await rows('rt_touchpoints'),
			conversions: await rows('rt_conversions'),
		};
	}

	/** Right to erasure: every row about the person, in every table, in one transaction. */
	async eraseProfile(ref: ProfileRef): Promise<Record<string, number> | undefined> {
		const profileId = await this.profileIdOf(this.driver, ref);
		if (!profileId) return undefined;
		return await this.driver.transaction(async (tx) => {
			const deleted: Record<string, number> = {};
			for (const table of PERSONAL_TABLES) {
				deleted[table] = await tx.run(`DELETE FROM ${table} WHERE profile_id = ?`, [profileId]);
			}
			deleted.rt_profiles = await tx.run('DELETE FROM rt_profiles WHERE id = ?', [profileId]);
			return deleted;
		});
	}

	/** Retention: deletes events received before `before`; returns how many. */
	async purgeEventsBefore(before: Date): Promise<number> {
		return await this.driver.run('DELETE FROM rt_events WHERE received_at < ?', [before.toISOString()]);
	}
}
