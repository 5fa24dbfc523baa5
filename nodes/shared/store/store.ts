import { randomUUID } from 'node:crypto';

import type { AppendResult } from '../events/ingest';
import type { Consent, ConsentPurpose, TrackedEvent } from '../events/model';
import type { FeedbackEvent } from '../feedback/model';
import { type AbandonmentRules, claimCarts, type DueCart, dueCarts } from './abandonment';
import { type Account, accountById, accountPeople, type AccountPerson, type Membership, membershipsOf } from './accounts';
import type { Product, StoredProduct } from '../catalogue/product';
import { BatchAppender } from './append';
import type { Cart } from './carts';
import type { SqlDriver } from './driver';
import { type Identity, IDENTITY_TURN, identityKey, lockForChange, lookupProfileIds, MERGED_PROFILE, mergeProfileRows, normalizeEmail, PERSONAL_TABLES } from './identity';
import { GroupCommit } from './group-commit';
import { migrate } from './migrations';
import { queueAudienceExits } from './audiences';
import { applyFeedbackIn, type FeedbackOutcome, type FeedbackSettings } from './feedback';
import { anonymiseConsentLog, type ConsentLogEntry, consentLogOf, logConsentSteps } from './consent-log';
import { importProducts, type ProductImportCounts, type ProductImportOptions, productsByIds } from './products';
import { predictionOf } from './predictive';
import { CART_COLUMNS, type CartRow, type ProfileFields, type ProfileRow, toCart, toProfileFields } from './rows';
import { json, parsed, takeTurns } from './sql';

export type { AbandonmentRules, DueCart } from './abandonment';
export type { Account, AccountPerson, Membership } from './accounts';
export type { Identity, IdentityKind } from './identity';

export interface Profile extends ProfileFields {
	identities: Identity[];
}

/** How a person is found: by the store's own id, or by any id they were seen with. */
export interface ProfileRef {
	profileId?: string;
	userId?: string;
	email?: string;
	anonymousId?: string;
}

export interface ProfileExport {
	profile: Profile;
	events: TrackedEvent[];
	carts: Cart[];
	sends: Array<Record<string, unknown>>;
	touchpoints: Array<Record<string, unknown>>;
	conversions: Array<Record<string, unknown>>;
	/** The campaigns the person was drawn into, treated or held out. */
	campaigns: Array<Record<string, unknown>>;
	/** The ad partner audiences the person was added to. */
	audiences: Array<Record<string, unknown>>;
	/** What the email providers reported: deliveries, opens, clicks, bounces, complaints. */
	emailEvents: Array<Record<string, unknown>>;
	unsubscribedCampaigns: Array<Record<string, unknown>>;
	/** The products the person viewed or bought, as recommendations remember them after the events are purged. */
	recommendationProducts: Array<Record<string, unknown>>;
	/** The companies the person belonged to (group calls), and when. */
	accounts: Array<Membership & { account: Account }>;
	/** Every change of consent or suppression, and every audience left because of it. */
	consentLog: ConsentLogEntry[];
}

/**
 * The retargeting store on any SqlDriver: events, profiles and identity links, carts, sends,
 * touchpoints and conversions.
 */
export class RetargetingStore {
	readonly driver: SqlDriver;

	private readonly appends: GroupCommit<TrackedEvent[], AppendResult>;

	private readonly feedback: GroupCommit<{ events: FeedbackEvent[]; settings: FeedbackSettings }, FeedbackOutcome[]>;

	constructor(driver: SqlDriver) {
		this.driver = driver;
		this.appends = new GroupCommit(driver, async (tx, events) => await new BatchAppender(tx).append(events));
		this.feedback = new GroupCommit(driver, async (tx, { events, settings }) => await applyFeedbackIn(tx, events, settings));
	}

	async migrate(): Promise<number> {
		return await migrate(this.driver);
	}

	async close(): Promise<void> {
		await this.driver.close();
	}

	/**
	 * Stores a batch of validated events in one transaction: dedup by messageId, identity stitching,
	 * profile counters, consent, carts, conversions and touchpoints. Batches appended concurrently
	 * share a commit (GroupCommit); each is still applied whole or not at all.
	 */
	async appendEvents(events: TrackedEvent[]): Promise<AppendResult> {
		if (events.length === 0) return { stored: [], duplicates: [] };
		return await this.appends.run(events);
	}

	/**
	 * Applies what an email provider reported (see applyFeedback); webhooks that arrive while another
	 * is being written share its next commit, as appends do.
	 */
	async applyFeedback(events: FeedbackEvent[], settings: FeedbackSettings): Promise<FeedbackOutcome[]> {
		if (events.length === 0) return [];
		return await this.feedback.run({ events, settings });
	}

	/** The profile of a person, found by any of their ids. */
	async findProfile(ref: ProfileRef): Promise<Profile | undefined> {
		const profileId = await this.profileIdOf(this.driver, ref);
		if (!profileId) return undefined;
		const [row] = await this.driver.all<ProfileRow>('SELECT * FROM rt_profiles WHERE id = ?', [profileId]);
		if (!row) return undefined;
		const identities = await this.driver.all<Identity>(
			'SELECT kind, value FROM rt_identities WHERE profile_id = ? AND kind <> ? ORDER BY kind, value',
			[profileId, MERGED_PROFILE],
		);
		return { ...toProfileFields(row), identities };
	}

	private async profileIdOf(db: SqlDriver, ref: ProfileRef): Promise<string | undefined> {
		if (ref.profileId) return ref.profileId;
		const candidates: Identity[] = [];
		if (ref.userId) candidates.push({ kind: 'userId', value: ref.userId });
		if (ref.email) candidates.push({ kind: 'email', value: normalizeEmail(ref.email) });
		if (ref.anonymousId) candidates.push({ kind: 'anonymousId', value: ref.anonymousId });
		const found = await lookupProfileIds(db, candidates);
		return candidates.map((id) => found.get(identityKey(id))).find((id) => id !== undefined);
	}

	/** A person's predictive figures under the latest fit; null before the first fit or if they never ordered. */
	async prediction(profileId: string, now = Date.now()): Promise<Record<string, unknown> | null> {
		return await predictionOf(this.driver, profileId, now);
	}

	/** A company (B2B account) by the groupId of its group calls. */
	async findAccount(accountId: string): Promise<Account | undefined> {
		return await accountById(this.driver, accountId);
	}

	/** A company's people: its current members, and those who left when `formerToo`; at most `limit`. */
	async accountPeople(accountId: string, options: { formerToo: boolean; limit: number }): Promise<AccountPerson[]> {
		return await accountPeople(this.driver, accountId, options);
	}

	/** The companies a person belonged to, newest first (the current one has no leftAt). */
	async membershipsOf(profileId: string): Promise<Array<Membership & { account: Account }>> {
		return await membershipsOf(this.driver, profileId);
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
		const rows = await this.driver.all<CartRow>(`SELECT ${CART_COLUMNS} FROM rt_carts WHERE profile_id = ? ORDER BY opened_at`, [profileId]);
		return rows.map(toCart);
	}

	async getCart(cartId: string): Promise<Cart | undefined> {
		const [row] = await this.driver.all<CartRow>(`SELECT ${CART_COLUMNS} FROM rt_carts WHERE id = ?`, [cartId]);
		return row ? toCart(row) : undefined;
	}

	/** Creates or updates a person from known ids, traits and consent (a CRM import, a form). */
	async upsertProfile(
		ref: Omit<ProfileRef, 'profileId'>,
		changes: { traits?: Record<string, unknown>; consent?: Consent; source?: string },
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
				context: changes.consent ? { consent: changes.consent, consentSource: changes.source ?? 'profile-node' } : {},
			},
		]);
		const profile = await this.findProfile(ref);
		if (!profile) throw new Error('the profile could not be created');
		return profile;
	}

	/** Merges two people known to be one; the first keeps its id. */
	async mergeProfiles(keep: ProfileRef, drop: ProfileRef): Promise<Profile | undefined> {
		const keepId = await this.driver.transaction(async (tx) => {
			await takeTurns(tx, IDENTITY_TURN);
			const [keptId, droppedId] = [await this.profileIdOf(tx, keep), await this.profileIdOf(tx, drop)];
			if (!keptId || !droppedId) return undefined;
			if (keptId !== droppedId) await mergeProfileRows(tx, keptId, droppedId);
			return keptId;
		});
		return keepId ? await this.findProfile({ profileId: keepId }) : undefined;
	}

	/**
	 * Suppressed people get no email and are pushed to no audience, whatever their consent says; the
	 * consent cascade takes them out of the partner audiences they are in. `source` goes to the consent log.
	 */
	async setSuppressed(ref: ProfileRef, suppressed: boolean, reason?: string, source = 'profile-node'): Promise<Profile | undefined> {
		const profileId = await this.profileIdOf(this.driver, ref);
		if (!profileId) return undefined;
		await this.driver.transaction(async (tx) => {
			await tx.run('UPDATE rt_profiles SET suppressed = ?, suppressed_reason = ? WHERE id = ?', [suppressed ? 1 : 0, suppressed ? (reason ?? null) : null, profileId]);
			await logConsentSteps(tx, [{ profileId, purpose: 'all', action: suppressed ? 'suppressed' : 'unsuppressed', source, detail: reason ?? null, at: new Date() }]);
		});
		return await this.findProfile({ profileId });
	}

	/**
	 * Opts a person out of one campaign's emails, or withdraws their consent for the given purposes
	 * (email; ads too for "all" on the unsubscribe page, which the consent cascade then carries to the
	 * partner audiences), recording each change and its source in the consent log. False when the
	 * person is not in the store.
	 */
	async unsubscribe(profileId: string, scope: { campaign: string } | { purposes: ConsentPurpose[] }, source: string, now = new Date()): Promise<boolean> {
		return await this.driver.transaction(async (tx) => {
			const [row] = await tx.all<{ consent: unknown }>('SELECT consent FROM rt_profiles WHERE id = ?', [profileId]);
			if (!row) return false;
			if ('campaign' in scope) {
				await tx.run('INSERT INTO rt_campaign_optouts (profile_id, campaign, at) VALUES (?, ?, ?) ON CONFLICT (profile_id, campaign) DO NOTHING', [profileId, scope.campaign, now.toISOString()]);
				await logConsentSteps(tx, [{ profileId, purpose: 'email', action: 'withdrawn', source, detail: `campaign: ${scope.campaign}`, at: now }]);
				return true;
			}
			const withdrawn = Object.fromEntries(scope.purposes.map((purpose) => [purpose, false]));
			await tx.run('UPDATE rt_profiles SET consent = ? WHERE id = ?', [json({ ...parsed<Consent>(row.consent), ...withdrawn }), profileId]);
			await logConsentSteps(tx, scope.purposes.map((purpose) => ({ profileId, purpose, action: 'withdrawn' as const, source, detail: purpose === 'email' ? 'all emails' : null, at: now })));
			return true;
		});
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
			campaigns: await rows('rt_campaign_members'),
			audiences: await rows('rt_audience_members'),
			emailEvents: await rows('rt_email_events'),
			unsubscribedCampaigns: await rows('rt_campaign_optouts'),
			recommendationProducts: await rows('rt_rec_person_items'),
			accounts: await membershipsOf(this.driver, profile.id),
			consentLog: await consentLogOf(this.driver, profile.id),
		};
	}

	/**
	 * Right to erasure: every row about the person, in every table, in one transaction. The consent
	 * log keeps a hash and the times; the partner audiences the person is in are queued for the
	 * consent cascade, with just what the partners need to find them, until they confirm the removal.
	 */
	async eraseProfile(ref: ProfileRef, source = 'profile-node'): Promise<Record<string, number> | undefined> {
		return await this.driver.transaction(async (tx) => {
			await takeTurns(tx, IDENTITY_TURN);
			const profileId = await this.profileIdOf(tx, ref);
			if (!profileId) return undefined;
			await lockForChange(tx, [profileId]);
			const now = new Date();
			await queueAudienceExits(tx, profileId, now);
			await anonymiseConsentLog(tx, profileId, now, source);
			const deleted: Record<string, number> = {};
			for (const table of PERSONAL_TABLES) {
				deleted[table] = await tx.run(`DELETE FROM ${table} WHERE profile_id = ?`, [profileId]);
			}
			deleted.rt_profiles = await tx.run('DELETE FROM rt_profiles WHERE id = ?', [profileId]);
			return deleted;
		});
	}

	/** The carts whose next abandonment step is due for one trigger (nothing is recorded). */
	async dueCarts(rules: AbandonmentRules, now = Date.now()): Promise<DueCart[]> {
		return await dueCarts(this.driver, rules, now);
	}

	/**
	 * The carts whose next step is due, claimed for this trigger: each cart step is returned once,
	 * whichever n8n process polls, however often.
	 */
	async claimDueCarts(rules: AbandonmentRules, now = Date.now()): Promise<DueCart[]> {
		return await claimCarts(this.driver, rules, await dueCarts(this.driver, rules, now), now);
	}

	/**
	 * Upserts a product feed's products by id and, for a full feed, marks the feed's products it no
	 * longer lists as out of stock (see importProducts).
	 */
	async importProducts(products: readonly Product[], options: ProductImportOptions): Promise<ProductImportCounts> {
		return await importProducts(this.driver, products, options);
	}

	/** The catalogue's products with these ids, by id; unknown ids are absent. */
	async productsByIds(ids: string[]): Promise<Map<string, StoredProduct>> {
		return await productsByIds(this.driver, ids);
	}

	/** Retention: deletes events received before `before`; returns how many. */
	async purgeEventsBefore(before: Date): Promise<number> {
		return await this.driver.run('DELETE FROM rt_events WHERE received_at < ?', [before.toISOString()]);
	}

	/**
	 * Retention: deletes the events received before `before` and, when asked, the email providers'
	 * events received before it; returns how many of each. Deletes 5,000 rows a transaction and
	 * yields to the event loop between them, so that neither SQLite's write lock nor n8n's event loop
	 * is held for long however much there is to delete. Orders and conversions, profiles, the consent
	 * log and sends are not touched.
	 */
	async purgeBefore(before: Date, what: { emailEvents: boolean }): Promise<{ events: number; emailEvents: number }> {
		const chunk = 5000;
		const cutoff = before.toISOString();
		// By primary key, a chunk at a time: `key` is the table's primary key columns.
		const inChunks = async (table: string, key: string): Promise<number> => {
			const sql = `DELETE FROM ${table} WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE received_at < ? LIMIT ${chunk})`;
			let total = 0;
			for (;;) {
				const deleted = await this.driver.transaction(async (tx) => await tx.run(sql, [cutoff]));
				total += deleted;
				if (deleted < chunk) return total;
				await new Promise((resolve) => setImmediate(resolve));
			}
		};
		const events = await inChunks('rt_events', 'message_id');
		const emailEvents = what.emailEvents ? await inChunks('rt_email_events', 'provider, event_id') : 0;
		return { events, emailEvents };
	}
}
