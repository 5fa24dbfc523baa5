import { type EventProduct, eventProductOf } from '../catalogue/product';
import type { AppendResult } from '../events/ingest';
import { type GroupCall, recordGroupCalls } from './accounts';
import type { Consent, TrackedEvent } from '../events/model';
import { ECOMMERCE_EVENTS } from '../events/vocabulary';
import { type ConsentStep, logConsentSteps } from './consent-log';
import { applyCartEvent, CART_EVENTS, newCart, ORDER_CANCELLED, ORDER_EVENT, ORDER_REFUNDED, orderRevenue, type Cart } from './carts';
import type { Dialect, SqlDriver, SqlValue } from './driver';
import {
	type Identity,
	identitiesOf,
	identityKey,
	IDENTITY_TURN,
	lookupProfileIds,
	mergeProfileRows,
} from './identity';
import { insertTouchpoints, type NewTouchpoint } from './attribution';
import { timeOrderedId } from './ids';
import { learnProducts } from './products';
import { CART_COLUMNS, cartValues, type CartRow, toCart } from './rows';
import { insertRows, json, parsed, selectIn, takeTurns } from './sql';

/** Per-profile changes gathered over a batch and written once, at its end. */
interface ProfileDelta {
	events: number;
	orders: number;
	revenue: number;
	firstSeen: string;
	lastSeen: string;
	traits: Record<string, unknown>;
	consent: Consent;
	/** What set each purpose of `consent` in this batch, for the consent log. */
	consentSources: Partial<Record<keyof Consent, string>>;
	/** The first userId and email linked in this batch; kept only where the profile has none. */
	userId?: string;
	email?: string;
}

const OPEN = new Set<Cart['status']>(['open', 'emptied']);

/** Event names arrive in the spec's spelling (the event model makes it so). */
const SPEC_EVENTS = new Set<string>(ECOMMERCE_EVENTS);

/** What the batch's events say about a product, and when the last of them was received. */
type LearntProduct = EventProduct & { at: string };

/** A refund (of `amount`, else all) or a cancellation of an order. */
interface Refund {
	orderId: string;
	amount: number | undefined;
	status: 'refunded' | 'cancelled';
}

export const EVENTS_INSERT = 'INSERT INTO rt_events (message_id, profile_id, type, event, anonymous_id, user_id, timestamp, received_at, body)';

/** An event's row in rt_events, in the order of EVENTS_INSERT's columns. */
export function eventRow(event: TrackedEvent, profileId: string): SqlValue[] {
	return [event.messageId, profileId, event.type, event.event, event.anonymousId, event.userId, event.timestamp, event.receivedAt, json(event)];
}

function isCartEvent(event: TrackedEvent): boolean {
	return event.type === 'track' && (CART_EVENTS as readonly (string | null)[]).includes(event.event);
}

function cartIdOf(event: TrackedEvent): string | undefined {
	return event.properties.cart_id !== undefined ? String(event.properties.cart_id) : undefined;
}

/**
 * Appends one batch of events inside one transaction, set-based: everything the batch needs is
 * read up front with a few `IN (...)` queries, the batch is worked out in memory, and the writes go
 * out as multi-row INSERTs and one UPDATE of the profiles. A merge of two profiles (a visitor who
 * logs in) is the one step that writes in place: pending rows are flushed first, so the merge
 * moves them too.
 */
export class BatchAppender {
	private readonly tx: SqlDriver;

	/** Identity key to profile id; null once the store is known to hold no such link. */
	private readonly owners = new Map<string, string | null>();

	/** Profile id to its userId (null when it has none). */
	private readonly userIds = new Map<string, string | null>();

	/** Merged-away profile ids to the profile they went into. */
	private readonly mergedInto = new Map<string, string>();

	private readonly deltas = new Map<string, ProfileDelta>();

	/** Carts read or changed in this batch, by id; null when the store is known to hold none. */
	private readonly carts = new Map<string, Cart | null>();

	/** Profiles whose open and emptied carts are all in `carts`. */
	private readonly cartsLoaded = new Set<string>();

	private readonly dirtyCarts = new Set<string>();

	private pending = { profiles: [] as SqlValue[][], identities: [] as SqlValue[][], events: [] as SqlValue[][], conversions: [] as SqlValue[][], touchpoints: [] as NewTouchpoint[], refunds: [] as Refund[], products: new Map<string, LearntProduct>(), groups: [] as GroupCall[] };

	constructor(tx: SqlDriver) {
		this.tx = tx;
	}

	async append(events: TrackedEvent[]): Promise<AppendResult> {
		await takeTurns(this.tx, IDENTITY_TURN);
		const seen = new Set(
			(await selectIn<{ message_id: string }>(this.tx, 'SELECT message_id FROM rt_events WHERE message_id IN (?*)', events.map((e) => e.messageId))).map(
				(row) => row.message_id,
			),
		);
		const result: AppendResult = { stored: [], duplicates: [] };
		const fresh: TrackedEvent[] = [];
		for (const event of events) {
			if (seen.has(event.messageId)) result.duplicates.push(event.messageId);
			else {
				seen.add(event.messageId);
				fresh.push(event);
			}
		}
		await this.prefetch(fresh);
		for (const event of fresh) {
			const profileId = await this.resolveIdentity(event);
			this.pending.events.push(eventRow(event, profileId));
			this.collectDelta(profileId, event);
			await this.recordCommerce(profileId, event);
			this.recordTouchpoint(profileId, event);
			this.recordProducts(event);
			if (event.type === 'group' && event.groupId) this.pending.groups.push({ profileId, accountId: event.groupId, traits: event.traits, at: event.timestamp });
			result.stored.push({ messageId: event.messageId, profileId });
		}
		await this.flush();
		await this.applyDeltas();
		for (const entry of result.stored) entry.profileId = this.current(entry.profileId);
		return result;
	}

	/** Identity links, userIds and carts the batch will ask about, in a handful of queries. */
	private async prefetch(events: TrackedEvent[]): Promise<void> {
		const ids: Identity[] = [];
		for (const event of events) {
			ids.push(...identitiesOf(event));
			if (event.type === 'alias' && event.previousId) {
				ids.push({ kind: 'userId', value: event.previousId }, { kind: 'anonymousId', value: event.previousId });
			}
		}
		const found = await lookupProfileIds(this.tx, ids);
		for (const id of ids) this.owners.set(identityKey(id), found.get(identityKey(id)) ?? null);
		const profiles = [...new Set(found.values())];
		const rows = await selectIn<{ id: string; user_id: string | null }>(this.tx, 'SELECT id, user_id FROM rt_profiles WHERE id IN (?*)', profiles);
		for (const row of rows) this.userIds.set(row.id, row.user_id);

		const cartIds = events.filter(isCartEvent).map(cartIdOf).filter((id): id is string => id !== undefined);
		const byCartId = await selectIn<CartRow>(this.tx, `SELECT ${CART_COLUMNS} FROM rt_carts WHERE id IN (?*)`, cartIds);
		for (const id of cartIds) this.carts.set(id, null);
		for (const row of byCartId) this.carts.set(row.id, toCart(row));
		// Cart events without a cart id, and orders, look for the person's open carts.
		const owning = events
			.filter((e) => (isCartEvent(e) && cartIdOf(e) === undefined) || (e.type === 'track' && e.event === ORDER_EVENT))
			.flatMap((e) => identitiesOf(e).map((id) => found.get(identityKey(id))))
			.filter((id): id is string => id !== undefined);
		await this.loadOpenCarts(owning);
	}

	private async loadOpenCarts(profileIds: string[]): Promise<void> {
		const missing = profileIds.filter((id) => !this.cartsLoaded.has(id));
		if (missing.length === 0) return;
		const rows = await selectIn<CartRow>(
			this.tx,
			`SELECT ${CART_COLUMNS} FROM rt_carts WHERE status IN ('open', 'emptied') AND profile_id IN (?*)`,
			missing,
		);
		// A cart already read or changed in this batch is newer than the stored row.
		for (const row of rows) if (!this.carts.get(row.id)) this.carts.set(row.id, toCart(row));
		for (const id of missing) this.cartsLoaded.add(id);
	}

	private current(profileId: string): string {
		let id = profileId;
		for (let next = this.mergedInto.get(id); next; next = this.mergedInto.get(id)) id = next;
		return id;
	}

	private async owner(id: Identity): Promise<string | undefined> {
		const key = identityKey(id);
		if (!this.owners.has(key)) {
			const found = await lookupProfileIds(this.tx, [id]);
			this.owners.set(key, found.get(key) ?? null);
		}
		return this.owners.get(key) ?? undefined;
	}

	private async userIdOf(profileId: string): Promise<string | null> {
		if (!this.userIds.has(profileId)) {
			const [row] = await this.tx.all<{ user_id: string | null }>('SELECT user_id FROM rt_profiles WHERE id = ?', [profileId]);
			this.userIds.set(profileId, row?.user_id ?? null);
		}
		return this.userIds.get(profileId) ?? null;
	}

	/** Another profile is the same person unless both carry different userIds. */
	private async compatible(profileId: string, userId: string | null): Promise<boolean> {
		if (!userId) return true;
		const theirs = await this.userIdOf(profileId);
		return !theirs || theirs === userId;
	}

	/**
	 * The profile an event belongs to. Links every id it names to that profile, and merges profiles
	 * it shows to be one person (an anonymous visitor who logs in). Two profiles with different
	 * userIds are never merged: the event goes to the one its userId names.
	 */
	private async resolveIdentity(event: TrackedEvent): Promise<string> {
		const ids = identitiesOf(event);
		if (event.type === 'alias' && event.previousId) {
			const previous =
				(await this.owner({ kind: 'userId', value: event.previousId })) ??
				(await this.owner({ kind: 'anonymousId', value: event.previousId }));
			if (!previous) ids.push({ kind: 'anonymousId', value: event.previousId });
			else {
				const target = await this.owner(ids[0]);
				if (target && target !== previous) await this.merge(target, previous);
				else if (!target) {
					this.link(previous, ids[0], event.timestamp);
					return previous;
				}
			}
		}
		const owners = new Map<string, string | undefined>();
		for (const id of ids) owners.set(identityKey(id), await this.owner(id));
		let primary = event.userId ? owners.get(`userId:${event.userId}`) : undefined;
		for (const owner of new Set(owners.values())) {
			if (primary) break;
			if (owner && (await this.compatible(owner, event.userId))) primary = owner;
		}
		primary ??= this.createProfile(event.timestamp);
		let primaryUserId: string | null | undefined = event.userId;
		for (const id of ids) {
			const owner = owners.get(identityKey(id));
			if (owner === undefined) this.link(primary, id, event.timestamp);
			else if (owner !== primary) {
				primaryUserId ??= await this.userIdOf(primary);
				if (await this.compatible(owner, primaryUserId)) await this.merge(primary, owner);
			}
		}
		return primary;
	}

	private createProfile(at: string): string {
		const id = timeOrderedId();
		this.pending.profiles.push([id, null, null, '{}', '{}', at, at]);
		this.userIds.set(id, null);
		this.cartsLoaded.add(id);
		return id;
	}

	private link(profileId: string, id: Identity, at: string): void {
		this.pending.identities.push([id.kind, id.value, profileId, at]);
		this.owners.set(identityKey(id), profileId);
		const delta = this.deltaOf(profileId, at);
		if (id.kind === 'userId' && this.userIds.get(profileId) == null) {
			this.userIds.set(profileId, id.value);
			delta.userId ??= id.value;
		}
		if (id.kind === 'email') delta.email ??= id.value;
	}

	/**
	 * Merges `dropId` into `keepId` in the store, then brings this batch's own state along. Both
	 * profiles' pending rows and counters are written first, so that the merge rules (the kept
	 * profile's traits and ids win, a withdrawn consent stays withdrawn) see everything.
	 */
	private async merge(keepId: string, dropId: string): Promise<void> {
		await this.flush();
		await this.applyDeltas([keepId, dropId]);
		if (!(await mergeProfileRows(this.tx, keepId, dropId))) return;
		this.mergedInto.set(dropId, keepId);
		for (const [key, owner] of this.owners) if (owner === dropId) this.owners.set(key, keepId);
		if (this.userIds.get(keepId) == null && this.userIds.has(dropId)) this.userIds.set(keepId, this.userIds.get(dropId) ?? null);
		this.userIds.delete(dropId);
		// Both profiles' carts are now stored under keepId; read them again when needed.
		for (const [id, cart] of this.carts) if (cart && (cart.profileId === keepId || cart.profileId === dropId)) this.carts.delete(id);
		this.cartsLoaded.delete(keepId);
		this.cartsLoaded.delete(dropId);
	}

	private deltaOf(profileId: string, at: string): ProfileDelta {
		let delta = this.deltas.get(profileId);
		if (!delta) {
			delta = { events: 0, orders: 0, revenue: 0, firstSeen: at, lastSeen: at, traits: {}, consent: {}, consentSources: {} };
			this.deltas.set(profileId, delta);
		}
		return delta;
	}

	private collectDelta(profileId: string, event: TrackedEvent): void {
		const delta = this.deltaOf(profileId, event.timestamp);
		delta.events += 1;
		if (event.timestamp < delta.firstSeen) delta.firstSeen = event.timestamp;
		if (event.timestamp > delta.lastSeen) delta.lastSeen = event.timestamp;
		if (event.type === 'identify') Object.assign(delta.traits, event.traits);
		if (event.context.consent) {
			Object.assign(delta.consent, event.context.consent);
			const source = consentSourceOf(event);
			for (const purpose of Object.keys(event.context.consent) as Array<keyof Consent>) delta.consentSources[purpose] = source;
		}
		if (event.event === ORDER_EVENT) {
			delta.orders += 1;
			delta.revenue += orderRevenue(event.properties) ?? 0;
		}
	}

	private async cartById(id: string): Promise<Cart | undefined> {
		if (!this.carts.has(id)) {
			const [row] = await this.tx.all<CartRow>(`SELECT ${CART_COLUMNS} FROM rt_carts WHERE id = ?`, [id]);
			this.carts.set(id, row ? toCart(row) : null);
		}
		return this.carts.get(id) ?? undefined;
	}

	private async openCartsOf(profileId: string): Promise<Cart[]> {
		await this.loadOpenCarts([profileId]);
		return [...this.carts.values()].filter((cart): cart is Cart => !!cart && cart.profileId === profileId && OPEN.has(cart.status));
	}

	private putCart(cart: Cart): void {
		this.carts.set(cart.id, cart);
		this.dirtyCarts.add(cart.id);
	}

	private async recordCommerce(profileId: string, event: TrackedEvent): Promise<void> {
		if (event.type !== 'track' || !event.event) return;
		const props = event.properties;
		const cartId = cartIdOf(event);
		if (isCartEvent(event)) {
			const found = cartId
				? await this.cartById(cartId)
				: (await this.openCartsOf(profileId)).reduce<Cart | undefined>(
						(latest, cart) => (!latest || cart.lastActivity > latest.lastActivity ? cart : latest),
						undefined,
					);
			const current = found && found.status !== 'converted' ? found : newCart(cartId ?? timeOrderedId(), profileId, event.timestamp);
			this.putCart(applyCartEvent(current, event));
		} else if (event.event === ORDER_EVENT) {
			const orderId = props.order_id !== undefined ? String(props.order_id) : event.messageId;
			const currency = typeof props.currency === 'string' ? props.currency : null;
			this.pending.conversions.push([orderId, profileId, orderRevenue(props) ?? 0, currency, 'completed', event.timestamp]);
			const closing = cartId ? [await this.cartById(cartId)] : await this.openCartsOf(profileId);
			for (const cart of closing) {
				if (cart) this.putCart({ ...cart, status: 'converted', convertedAt: event.timestamp, orderId });
			}
		} else if ((event.event === ORDER_REFUNDED || event.event === ORDER_CANCELLED) && props.order_id !== undefined) {
			// A refund's own amount is its total (some platforms send it negative); without one, all of it.
			const amount = event.event === ORDER_REFUNDED ? (typeof props.total === 'number' ? props.total : orderRevenue(props)) : undefined;
			this.pending.refunds.push({ orderId: String(props.order_id), amount: amount === undefined ? undefined : Math.abs(amount), status: event.event === ORDER_REFUNDED ? 'refunded' : 'cancelled' });
		}
	}

	/** A visit that came from a campaign or an ad click is a touchpoint for attribution. */
	private recordTouchpoint(profileId: string, event: TrackedEvent): void {
		const { campaign, clickIds } = event.context;
		const clickId = clickIds ? Object.entries(clickIds)[0] : undefined;
		if (!campaign && !clickId) return;
		this.pending.touchpoints.push({
			profileId,
			id: event.messageId,
			channel: null,
			source: campaign?.source ?? null,
			medium: campaign?.medium ?? null,
			campaign: campaign?.name ?? null,
			clickId: clickId ? `${clickId[0]}:${clickId[1]}` : null,
			kind: 'visit',
			at: new Date(event.timestamp),
		});
	}

	/**
	 * The products an e-commerce event names (its own product_id or sku, and each of its `products`),
	 * with what it says of them, for the catalogue; a later event of the batch overrides what it says.
	 */
	private recordProducts(event: TrackedEvent): void {
		if (event.type !== 'track' || !event.event || !SPEC_EVENTS.has(event.event)) return;
		const { products, currency } = event.properties;
		const raws = [event.properties, ...(Array.isArray(products) ? (products as Array<Record<string, unknown>>) : [])];
		for (const raw of raws) {
			const product = eventProductOf(raw, currency);
			if (product) this.pending.products.set(product.id, { ...this.pending.products.get(product.id), ...product, at: event.receivedAt });
		}
	}

	/** Writes the rows gathered so far, one multi-row statement per table. */
	private async flush(): Promise<void> {
		const { profiles, identities, events, conversions, touchpoints, refunds, products, groups } = this.pending;
		this.pending = { profiles: [], identities: [], events: [], conversions: [], touchpoints: [], refunds: [], products: new Map(), groups: [] };
		await insertRows(this.tx, 'INSERT INTO rt_profiles (id, user_id, email, traits, consent, first_seen, last_seen)', profiles);
		await insertRows(this.tx, 'INSERT INTO rt_identities (kind, value, profile_id, linked_at)', identities, 'ON CONFLICT (kind, value) DO NOTHING');
		await insertRows(this.tx, EVENTS_INSERT, events);
		const carts = [...this.dirtyCarts].map((id) => this.carts.get(id)).filter((cart): cart is Cart => !!cart);
		this.dirtyCarts.clear();
		await insertRows(
			this.tx,
			`INSERT INTO rt_carts (${CART_COLUMNS})`,
			carts.map(cartValues),
			`ON CONFLICT (id) DO UPDATE SET profile_id = excluded.profile_id, items = excluded.items, value = excluded.value,
			 currency = excluded.currency, status = excluded.status, opened_at = excluded.opened_at,
			 last_activity = excluded.last_activity, converted_at = excluded.converted_at, order_id = excluded.order_id,
			 checkout_at = excluded.checkout_at`,
		);
		await insertRows(
			this.tx,
			'INSERT INTO rt_conversions (order_id, profile_id, revenue, currency, status, occurred_at)',
			conversions,
			'ON CONFLICT (order_id) DO NOTHING',
		);
		// After the orders of the same batch are in: a refund of an order never seen changes nothing.
		for (const refund of refunds) await this.applyRefund(refund);
		await insertTouchpoints(this.tx, touchpoints);
		await learnProducts(this.tx, products.values());
		await recordGroupCalls(this.tx, groups);
	}

	/**
	 * Takes a refund's amount (never more than is left) or a cancelled order's revenue back from the
	 * recorded order. A cancelled order stays cancelled whatever refund follows.
	 */
	private async applyRefund(refund: Refund): Promise<void> {
		const [order] = await this.tx.all<{ revenue: number; refunded: number; status: string }>('SELECT revenue, refunded, status FROM rt_conversions WHERE order_id = ?', [refund.orderId]);
		if (!order) return;
		const revenue = Number(order.revenue);
		const refunded = refund.amount === undefined ? revenue : Math.min(revenue, Number(order.refunded) + refund.amount);
		const status = order.status === 'cancelled' ? 'cancelled' : refund.status;
		await this.tx.run('UPDATE rt_conversions SET refunded = ?, status = ? WHERE order_id = ?', [refunded, status, refund.orderId]);
	}

	/**
	 * Writes the pending counters, seen times, traits, consent and first ids of the touched profiles
	 * (of `only` those, when given) in one UPDATE, and forgets them.
	 */
	private async applyDeltas(only?: string[]): Promise<void> {
		const pending = only ? only.filter((id) => this.deltas.has(id)) : [...this.deltas.keys()];
		const deltas = pending.map((id) => [id, this.deltas.get(id) as ProfileDelta] as const);
		for (const id of pending) this.deltas.delete(id);
		if (deltas.length === 0) return;
		const withDocuments = deltas.filter(([, d]) => Object.keys(d.traits).length || Object.keys(d.consent).length);
		const documents = new Map(
			(
				await selectIn<{ id: string; traits: unknown; consent: unknown }>(
					this.tx,
					'SELECT id, traits, consent FROM rt_profiles WHERE id IN (?*)',
					withDocuments.map(([id]) => id),
				)
			).map((row) => [row.id, row]),
		);
		const steps: ConsentStep[] = [];
		const rows: SqlValue[][] = deltas.map(([id, d]) => {
			const stored = documents.get(id);
			if (stored) steps.push(...consentChanges(id, parsed<Consent>(stored.consent), d));
			return [
				id,
				d.events,
				d.orders,
				d.revenue,
				d.firstSeen,
				d.lastSeen,
				stored && Object.keys(d.traits).length ? json({ ...parsed<object>(stored.traits), ...d.traits }) : null,
				stored && Object.keys(d.consent).length ? json({ ...parsed<object>(stored.consent), ...d.consent }) : null,
				d.userId ?? null,
				d.email ?? null,
			];
		});
		const tuple = `(${deltaColumnTypes(this.tx.dialect)
			.map((type) => `CAST(? AS ${type})`)
			.join(', ')})`;
		for (let i = 0; i < rows.length; i += 2000) {
			const chunk = rows.slice(i, i + 2000);
			await this.tx.run(
				`UPDATE rt_profiles SET event_count = event_count + v.column2, order_count = order_count + v.column3,
				 revenue = revenue + v.column4,
				 first_seen = CASE WHEN first_seen < v.column5 THEN first_seen ELSE v.column5 END,
				 last_seen = CASE WHEN last_seen > v.column6 THEN last_seen ELSE v.column6 END,
				 traits = COALESCE(v.column7, traits), consent = COALESCE(v.column8, consent),
				 user_id = COALESCE(user_id, v.column9), email = COALESCE(email, v.column10)
				 FROM (VALUES ${chunk.map(() => tuple).join(', ')}) AS v WHERE rt_profiles.id = v.column1`,
				chunk.flat(),
			);
		}
		await logConsentSteps(this.tx, steps);
	}
}

/** What set an event's consent: the event names its source (the Profile node, GPC), else the tracker and the call. */
function consentSourceOf(event: TrackedEvent): string {
	return event.context.consentSource ?? `tracking:${event.event ?? event.type}`;
}

/** The purposes whose consent the batch changed, as consent log steps. */
function consentChanges(profileId: string, before: Consent, delta: ProfileDelta): ConsentStep[] {
	return (Object.entries(delta.consent) as Array<[keyof Consent, boolean | undefined]>)
		.filter(([purpose, value]) => value !== undefined && before[purpose] !== value)
		.map(([purpose, value]) => ({
			profileId,
			purpose,
			action: value ? 'granted' : 'withdrawn',
			source: delta.consentSources[purpose] ?? 'tracking',
			at: new Date(delta.lastSeen),
		}));
}

/** Column types of the profile-delta VALUES list: PostgreSQL cannot infer them from a parameter. */
function deltaColumnTypes(dialect: Dialect): string[] {
	const document = dialect === 'postgres' ? 'JSONB' : 'TEXT';
	return ['TEXT', 'INTEGER', 'INTEGER', 'DOUBLE PRECISION', 'TEXT', 'TEXT', document, document, 'TEXT', 'TEXT'];
}
