import type { Dialect, SqlDriver } from './driver';
import { takeTurns } from './sql';

/**
 * The store's schema, one entry a version, never edited once released: a change is a new entry.
 * Times are ISO 8601 UTC strings (fixed width, so they sort in time order on both backends);
 * JSON is TEXT on SQLite and JSONB on PostgreSQL.
 */
const MIGRATIONS: Array<{ version: number; up: (d: Dialect) => string }> = [
	{
		version: 1,
		up: (d) => {
			const json = d === 'postgres' ? 'JSONB' : 'TEXT';
			const serial = d === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
			return `
			CREATE TABLE IF NOT EXISTS rt_profiles (
				id TEXT PRIMARY KEY,
				user_id TEXT,
				email TEXT,
				traits ${json} NOT NULL,
				consent ${json} NOT NULL,
				suppressed INTEGER NOT NULL DEFAULT 0,
				suppressed_reason TEXT,
				first_seen TEXT NOT NULL,
				last_seen TEXT NOT NULL,
				event_count INTEGER NOT NULL DEFAULT 0,
				order_count INTEGER NOT NULL DEFAULT 0,
				revenue DOUBLE PRECISION NOT NULL DEFAULT 0
			);
			CREATE TABLE IF NOT EXISTS rt_identities (
				kind TEXT NOT NULL,
				value TEXT NOT NULL,
				profile_id TEXT NOT NULL,
				linked_at TEXT NOT NULL,
				PRIMARY KEY (kind, value)
			);
			CREATE INDEX IF NOT EXISTS rt_identities_profile ON rt_identities (profile_id);
			CREATE TABLE IF NOT EXISTS rt_events (
				message_id TEXT PRIMARY KEY,
				profile_id TEXT NOT NULL,
				type TEXT NOT NULL,
				event TEXT,
				anonymous_id TEXT,
				user_id TEXT,
				timestamp TEXT NOT NULL,
				received_at TEXT NOT NULL,
				body ${json} NOT NULL
			);
			CREATE INDEX IF NOT EXISTS rt_events_profile_time ON rt_events (profile_id, timestamp);
			CREATE INDEX IF NOT EXISTS rt_events_received ON rt_events (received_at);
			CREATE TABLE IF NOT EXISTS rt_carts (
				id TEXT PRIMARY KEY,
				profile_id TEXT NOT NULL,
				items ${json} NOT NULL,
				value DOUBLE PRECISION NOT NULL DEFAULT 0,
				currency TEXT,
				status TEXT NOT NULL,
				opened_at TEXT NOT NULL,
				last_activity TEXT NOT NULL,
				steps_sent ${json} NOT NULL,
				converted_at TEXT,
				order_id TEXT
			);
			CREATE INDEX IF NOT EXISTS rt_carts_profile ON rt_carts (profile_id, status);
			CREATE INDEX IF NOT EXISTS rt_carts_due ON rt_carts (status, last_activity);
			CREATE TABLE IF NOT EXISTS rt_sends (
				idempotency_key TEXT PRIMARY KEY,
				profile_id TEXT NOT NULL,
				channel TEXT NOT NULL,
				campaign TEXT,
				step INTEGER,
				status TEXT NOT NULL,
				created_at TEXT NOT NULL,
				confirmed_at TEXT
			);
			CREATE INDEX IF NOT EXISTS rt_sends_profile ON rt_sends (profile_id, channel, created_at);
			CREATE TABLE IF NOT EXISTS rt_touchpoints (
				id ${serial},
				profile_id TEXT NOT NULL,
				message_id TEXT,
				channel TEXT,
				source TEXT,
				medium TEXT,
				campaign TEXT,
				click_id TEXT,
				kind TEXT NOT NULL,
				occurred_at TEXT NOT NULL
			);
			CREATE INDEX IF NOT EXISTS rt_touchpoints_profile ON rt_touchpoints (profile_id, occurred_at);
			CREATE TABLE IF NOT EXISTS rt_conversions (
				order_id TEXT PRIMARY KEY,
				profile_id TEXT NOT NULL,
				revenue DOUBLE PRECISION NOT NULL,
				currency TEXT,
				status TEXT NOT NULL,
				occurred_at TEXT NOT NULL
			);
			CREATE INDEX IF NOT EXISTS rt_conversions_profile ON rt_conversions (profile_id);
			`;
		},
	},
	{
		// Abandoned Cart Trigger: when a cart reached checkout, and each trigger's progress on each cart
		// (which replaces the one steps_sent list a cart had, shared by every trigger).
		version: 2,
		up: () => `
			ALTER TABLE rt_carts ADD COLUMN checkout_at TEXT;
			ALTER TABLE rt_carts DROP COLUMN steps_sent;
			CREATE TABLE IF NOT EXISTS rt_cart_progress (
				trigger_key TEXT NOT NULL,
				cart_id TEXT NOT NULL,
				profile_id TEXT NOT NULL,
				last_step INTEGER NOT NULL,
				activity_at TEXT NOT NULL,
				updated_at TEXT NOT NULL,
				PRIMARY KEY (trigger_key, cart_id)
			);
			CREATE INDEX IF NOT EXISTS rt_cart_progress_profile ON rt_cart_progress (profile_id);
			CREATE INDEX IF NOT EXISTS rt_cart_progress_activity ON rt_cart_progress (trigger_key, activity_at);
			`,
	},
	{
		// Attribution: what refunds and cancellations took back from an order, and who of a campaign
		// was treated or held out (the first draw stands), for the lift against the holdout.
		version: 3,
		up: () => `
			ALTER TABLE rt_conversions ADD COLUMN refunded DOUBLE PRECISION NOT NULL DEFAULT 0;
			CREATE INDEX IF NOT EXISTS rt_conversions_time ON rt_conversions (occurred_at);
			CREATE INDEX IF NOT EXISTS rt_touchpoints_time ON rt_touchpoints (occurred_at);
			CREATE TABLE IF NOT EXISTS rt_campaign_members (
				campaign TEXT NOT NULL,
				profile_id TEXT NOT NULL,
				arm TEXT NOT NULL,
				assigned_at TEXT NOT NULL,
				PRIMARY KEY (campaign, profile_id)
			);
			CREATE INDEX IF NOT EXISTS rt_campaign_members_profile ON rt_campaign_members (profile_id);
			CREATE INDEX IF NOT EXISTS rt_campaign_members_time ON rt_campaign_members (assigned_at);
			`,
	},
	{
		// Banner Partner Push: who is in which partner audience, so that a sync sends only changes
		// and a converter can be removed from every audience they were added to.
		version: 4,
		up: () => `
			CREATE TABLE IF NOT EXISTS rt_audience_members (
				partner TEXT NOT NULL,
				audience_id TEXT NOT NULL,
				profile_id TEXT NOT NULL,
				added_at TEXT NOT NULL,
				PRIMARY KEY (partner, audience_id, profile_id)
			);
			CREATE INDEX IF NOT EXISTS rt_audience_members_profile ON rt_audience_members (profile_id);
			`,
	},
	{
		// Attribution Log: a touchpoint logged again (a retried execution) is found by its ID.
		version: 5,
		up: () => 'CREATE INDEX IF NOT EXISTS rt_touchpoints_message ON rt_touchpoints (message_id);',
	},
	{
		// Listening back: the provider's id of each send (its events name it); the email providers'
		// events once each; the consent log, kept as a hash and a time after erasure; the campaigns a
		// person unsubscribed from; and the partner audiences an erased person still has to leave.
		version: 6,
		up: (d) => {
			const json = d === 'postgres' ? 'JSONB' : 'TEXT';
			const serial = d === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
			return `
			ALTER TABLE rt_sends ADD COLUMN provider_id TEXT;
			CREATE INDEX IF NOT EXISTS rt_sends_provider ON rt_sends (provider_id);
			CREATE TABLE IF NOT EXISTS rt_email_events (
				provider TEXT NOT NULL,
				event_id TEXT NOT NULL,
				profile_id TEXT NOT NULL,
				send_key TEXT,
				kind TEXT NOT NULL,
				occurred_at TEXT NOT NULL,
				received_at TEXT NOT NULL,
				PRIMARY KEY (provider, event_id)
			);
			CREATE INDEX IF NOT EXISTS rt_email_events_profile ON rt_email_events (profile_id, occurred_at);
			CREATE INDEX IF NOT EXISTS rt_email_events_received ON rt_email_events (received_at);
			CREATE TABLE IF NOT EXISTS rt_consent_log (
				id ${serial},
				profile_id TEXT,
				subject TEXT NOT NULL,
				purpose TEXT NOT NULL,
				action TEXT NOT NULL,
				source TEXT NOT NULL,
				detail TEXT,
				at TEXT NOT NULL
			);
			CREATE INDEX IF NOT EXISTS rt_consent_log_profile ON rt_consent_log (profile_id);
			CREATE INDEX IF NOT EXISTS rt_consent_log_subject ON rt_consent_log (subject);
			CREATE TABLE IF NOT EXISTS rt_campaign_optouts (
				profile_id TEXT NOT NULL,
				campaign TEXT NOT NULL,
				at TEXT NOT NULL,
				PRIMARY KEY (profile_id, campaign)
			);
			CREATE TABLE IF NOT EXISTS rt_audience_exits (
				partner TEXT NOT NULL,
				audience_id TEXT NOT NULL,
				subject TEXT NOT NULL,
				person ${json} NOT NULL,
				queued_at TEXT NOT NULL,
				attempts INTEGER NOT NULL DEFAULT 0,
				last_error TEXT,
				PRIMARY KEY (partner, audience_id, subject)
			);
			`;
		},
	},
	{
		// Product Catalogue: products by the feed's id (what events carry as product_id), from a feed
		// import or learnt from tracked events; a full import marks the feed's products it no longer
		// lists (missing_since) instead of deleting them, so that past events still name a product.
		version: 7,
		up: (d) => `
			CREATE TABLE IF NOT EXISTS rt_products (
				id TEXT PRIMARY KEY,
				title TEXT,
				description TEXT,
				link TEXT,
				image_link TEXT,
				price DOUBLE PRECISION,
				sale_price DOUBLE PRECISION,
				currency TEXT,
				availability TEXT,
				brand TEXT,
				google_product_category TEXT,
				product_type TEXT,
				item_group_id TEXT,
				custom_labels ${d === 'postgres' ? 'JSONB' : 'TEXT'} NOT NULL,
				source TEXT NOT NULL,
				feed_seen_at TEXT,
				missing_since TEXT,
				created_at TEXT NOT NULL,
				updated_at TEXT NOT NULL
			);
			CREATE INDEX IF NOT EXISTS rt_products_feed_seen ON rt_products (source, feed_seen_at);
			`,
	},
	{
		// Recommendations, kept up to date by their Refresh: the products each person viewed and bought
		// (when first), how many people did each and each pair, views and purchases a day, and
		// how far in the events the refresh has read. Only the first table is personal.
		version: 8,
		up: () => `
			CREATE TABLE IF NOT EXISTS rt_rec_person_items (
				profile_id TEXT NOT NULL,
				kind TEXT NOT NULL,
				product_id TEXT NOT NULL,
				first_at TEXT NOT NULL,
				PRIMARY KEY (profile_id, kind, product_id)
			);
			CREATE TABLE IF NOT EXISTS rt_rec_item_counts (
				kind TEXT NOT NULL,
				product_id TEXT NOT NULL,
				people INTEGER NOT NULL,
				PRIMARY KEY (kind, product_id)
			);
			CREATE TABLE IF NOT EXISTS rt_rec_pairs (
				kind TEXT NOT NULL,
				product_id TEXT NOT NULL,
				other_id TEXT NOT NULL,
				people INTEGER NOT NULL,
				PRIMARY KEY (kind, product_id, other_id)
			);
			CREATE TABLE IF NOT EXISTS rt_rec_daily (
				kind TEXT NOT NULL,
				day TEXT NOT NULL,
				product_id TEXT NOT NULL,
				events INTEGER NOT NULL,
				PRIMARY KEY (kind, day, product_id)
			);
			CREATE TABLE IF NOT EXISTS rt_rec_state (
				name TEXT PRIMARY KEY,
				received_at TEXT NOT NULL
			);
			`,
	},
	{
		// Predictive segments: each fit of the BG/NBD and Gamma-Gamma models with its date, the
		// predicted-value settings and what ranks customers by it; conditions read the latest.
		version: 9,
		up: (d) => {
			const json = d === 'postgres' ? 'JSONB' : 'TEXT';
			const serial = d === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
			return `
			CREATE TABLE IF NOT EXISTS rt_predictive_fits (
				id ${serial},
				fitted_at TEXT NOT NULL,
				customers INTEGER NOT NULL,
				bg_nbd ${json} NOT NULL,
				gamma_gamma ${json} NOT NULL,
				settings ${json} NOT NULL,
				ranking ${json} NOT NULL
			);
			CREATE INDEX IF NOT EXISTS rt_predictive_fits_time ON rt_predictive_fits (fitted_at);
			`;
		},
	},
	{
		// Accounts (B2B): the companies of Segment's group calls with their traits, which are company
		// data and outlive their people; and who belonged to which, when (left_at null: still does).
		version: 10,
		up: (d) => `
			CREATE TABLE IF NOT EXISTS rt_accounts (
				id TEXT PRIMARY KEY,
				traits ${d === 'postgres' ? 'JSONB' : 'TEXT'} NOT NULL,
				first_seen TEXT NOT NULL,
				last_seen TEXT NOT NULL
			);
			CREATE TABLE IF NOT EXISTS rt_account_members (
				account_id TEXT NOT NULL,
				profile_id TEXT NOT NULL,
				joined_at TEXT NOT NULL,
				left_at TEXT,
				PRIMARY KEY (account_id, profile_id, joined_at)
			);
			CREATE INDEX IF NOT EXISTS rt_account_members_profile ON rt_account_members (profile_id, left_at);
			CREATE INDEX IF NOT EXISTS rt_account_members_current ON rt_account_members (account_id, left_at);
			`,
	},
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/**
 * Brings the schema to the newest version. Safe to call from many processes at once: each
 * migration runs in a transaction that first takes the database's write lock and re-reads the
 * applied version.
 */
export async function migrate(driver: SqlDriver): Promise<number> {
	// In a transaction, so that a busy SQLite file is waited for like any other write.
	await driver.transaction(async (tx) => {
		await tx.run('CREATE TABLE IF NOT EXISTS rt_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
	});
	for (const migration of MIGRATIONS) {
		await driver.transaction(async (tx) => {
			await takeTurns(tx, 'rt_migrations');
			const done = await tx.all('SELECT version FROM rt_migrations WHERE version = ?', [migration.version]);
			if (done.length) return;
			for (const statement of migration.up(tx.dialect).split(';').map((s) => s.trim()).filter(Boolean)) {
				await tx.run(statement);
			}
			await tx.run('INSERT INTO rt_migrations (version, applied_at) VALUES (?, ?)', [
				migration.version,
				new Date().toISOString(),
			]);
		});
	}
	const [row] = await driver.all<{ v: number }>('SELECT MAX(version) AS v FROM rt_migrations');
	return Number(row.v);
}
