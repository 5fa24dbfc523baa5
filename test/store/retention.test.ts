import { parseEvent, type TrackedEvent } from '../../nodes/shared/events/model.ts';
import type { SqlDriver, SqlValue } from '../../nodes/shared/store/driver.ts';
import { insertRows } from '../../nodes/shared/store/sql.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

const DAY = 86_400_000;
/** The retention cutoff of these tests: what was received before it goes. */
const CUTOFF = new Date('2026-06-01T00:00:00.000Z');
const OLD_EVENTS = 12_000;
const OLD_EMAIL_EVENTS = 7_000;

let sequence = 0;

/** A valid event (through the Tracking Trigger's parser) received at `receivedAt`. */
function eventReceived(receivedAt: number, raw: Record<string, unknown>): TrackedEvent {
	const iso = new Date(receivedAt).toISOString();
	const parsed = parseEvent({ messageId: `ret-${++sequence}`, timestamp: iso, ...raw });
	if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
	return { ...parsed.event, receivedAt: iso };
}

/** Old history for 40 visitors, one of whom identified and ordered long ago; then recent visits. */
function oldEvents(): TrackedEvent[] {
	const start = CUTOFF.getTime() - 500 * DAY;
	const events = Array.from({ length: OLD_EVENTS - 3 }, (_, i) =>
		eventReceived(start + i * 60_000, { type: 'track', event: 'Product Viewed', anonymousId: `v-${i % 40}`, properties: { product_id: `p-${i % 7}` } }),
	);
	const last = start + OLD_EVENTS * 60_000;
	events.push(
		eventReceived(last, { type: 'identify', anonymousId: 'v-1', userId: 'u-1', traits: { email: 'kim@example.com' }, context: { consent: { email: true } } }),
		eventReceived(last + 60_000, { type: 'track', event: 'Product Added', anonymousId: 'v-1', properties: { cart_id: 'c-1', product_id: 'p-1', price: 30, quantity: 1 } }),
		eventReceived(last + 120_000, { type: 'track', event: 'Order Completed', userId: 'u-1', properties: { order_id: 'o-1', cart_id: 'c-1', revenue: 30, currency: 'EUR' } }),
	);
	return events;
}

function recentEvents(): TrackedEvent[] {
	// The first one is received exactly at the cutoff: it is not older, so it stays.
	return Array.from({ length: 250 }, (_, i) =>
		eventReceived(CUTOFF.getTime() + i * 3_600_000, { type: 'track', event: 'Product Viewed', anonymousId: `v-${i % 60}` }),
	);
}

/** rt_email_events rows as the email providers' webhooks leave them, received at `receivedAt`. */
function emailEventRows(prefix: string, count: number, receivedAt: (i: number) => number, profileId: string): SqlValue[][] {
	return Array.from({ length: count }, (_, i) => {
		const at = new Date(receivedAt(i)).toISOString();
		return ['sendgrid', `${prefix}-${i}`, profileId, `send-${i % 9}`, ['delivered', 'open', 'click'][i % 3], at, at];
	});
}

/** Every row of a table, in a fixed order, to compare before and after. */
async function rowsOf(driver: SqlDriver, table: string): Promise<string[]> {
	return (await driver.all(`SELECT * FROM ${table}`)).map((row) => JSON.stringify(row)).sort();
}

/** The tables a purge must leave alone. */
const KEPT_TABLES = ['rt_profiles', 'rt_identities', 'rt_conversions', 'rt_touchpoints', 'rt_carts', 'rt_sends', 'rt_consent_log'];

interface DeleteStatement {
	table: string;
	rows: number;
	/** How many turns of the event loop (setImmediate callbacks) had run when it finished. */
	turns: number;
}

/**
 * Records every DELETE the store runs on this driver, directly or in a transaction, with how many
 * rows it deleted; and counts the event loop's turns, to see whether other work got to run between them.
 */
function recordDeletes(driver: SqlDriver): { deletes: DeleteStatement[]; stop(): void } {
	const deletes: DeleteStatement[] = [];
	let turns = 0;
	let running = true;
	const turn = () => {
		turns++;
		if (running) setImmediate(turn);
	};
	setImmediate(turn);
	const record = (sql: string, rows: number) => {
		const table = /^DELETE FROM (\w+)/i.exec(sql.trim())?.[1];
		if (table) deletes.push({ table, rows, turns });
	};
	const recording = (db: SqlDriver, run: SqlDriver['run']): SqlDriver['run'] => async (sql, params) => {
		const rows = await run.call(db, sql, params);
		record(sql, rows);
		return rows;
	};
	const run = driver.run.bind(driver);
	const transaction = driver.transaction.bind(driver);
	Object.assign(driver, {
		run: recording(driver, run),
		transaction: async <T>(body: (tx: SqlDriver) => Promise<T>) =>
			await transaction(async (tx) => await body({ ...tx, run: recording(tx, tx.run) })),
	});
	return {
		deletes,
		stop: () => {
			running = false;
		},
	};
}

describe.each(BACKENDS)('retention (purgeBefore) on %s', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let store: RetargetingStore;

	beforeEach(async () => {
		fixture = makeFixture();
		store = await fixture.open();
		await store.migrate();
	});

	afterEach(async () => await fixture.dispose());

	it('deletes old events and old email events 5,000 at a time, yielding in between; keeps recent ones, profiles, orders, carts, sends and the consent log', async () => {
		const old = oldEvents();
		for (let i = 0; i < old.length; i += 1000) await store.appendEvents(old.slice(i, i + 1000));
		const recent = recentEvents();
		await store.appendEvents(recent);
		const kim = await store.findProfile({ userId: 'u-1' });
		expect(kim).toBeDefined();
		// A send long ago, and a suppression (logged in the consent log) long ago too.
		await store.driver.run(
			'INSERT INTO rt_sends (idempotency_key, profile_id, channel, campaign, step, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
			['wf:c-1:1', kim!.id, 'email', 'cart-recovery', 1, 'sent', new Date(CUTOFF.getTime() - 450 * DAY).toISOString()],
		);
		await store.setSuppressed({ userId: 'u-1' }, true, 'complaint');
		await insertRows(
			store.driver,
			'INSERT INTO rt_email_events (provider, event_id, profile_id, send_key, kind, occurred_at, received_at)',
			[
				...emailEventRows('old', OLD_EMAIL_EVENTS, (i) => CUTOFF.getTime() - 400 * DAY + i * 1000, kim!.id),
				...emailEventRows('new', 30, (i) => CUTOFF.getTime() + i * 1000, kim!.id),
			],
		);

		const kept = Object.fromEntries(await Promise.all(KEPT_TABLES.map(async (t) => [t, await rowsOf(store.driver, t)] as const)));
		expect(kept.rt_conversions).toHaveLength(1);
		expect(kept.rt_carts).toHaveLength(1);
		expect(kept.rt_sends).toHaveLength(1);
		expect(kept.rt_consent_log.length).toBeGreaterThan(0);

		const recorder = recordDeletes(store.driver);
		const purged = await store.purgeBefore(CUTOFF, { emailEvents: true });
		recorder.stop();

		expect(purged).toEqual({ events: OLD_EVENTS, emailEvents: OLD_EMAIL_EVENTS });
		const eventDeletes = recorder.deletes.filter((d) => d.table === 'rt_events');
		const emailDeletes = recorder.deletes.filter((d) => d.table === 'rt_email_events');
		expect(eventDeletes.map((d) => d.rows)).toEqual([5000, 5000, 2000]);
		expect(emailDeletes.map((d) => d.rows)).toEqual([5000, 2000]);
		expect(recorder.deletes).toHaveLength(5);
		// Between two chunks the event loop turned: other work (a webhook, a poll) ran meanwhile.
		for (let i = 1; i < recorder.deletes.length; i++) {
			if (recorder.deletes[i - 1].rows === 5000) expect(recorder.deletes[i].turns).toBeGreaterThan(recorder.deletes[i - 1].turns);
		}

		const left = await store.driver.all<{ message_id: string; received_at: string }>('SELECT message_id, received_at FROM rt_events ORDER BY received_at, message_id');
		expect(left.map((r) => r.message_id).sort()).toEqual(recent.map((e) => e.messageId).sort());
		expect(left[0].received_at).toBe(CUTOFF.toISOString());
		const emailLeft = await store.driver.all<{ event_id: string }>('SELECT event_id FROM rt_email_events');
		expect(emailLeft.map((r) => r.event_id).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `new-${i}`).sort());

		for (const table of KEPT_TABLES) expect([table, await rowsOf(store.driver, table)]).toEqual([table, kept[table]]);
		expect(await store.findProfile({ email: 'kim@example.com' })).toMatchObject({ userId: 'u-1', orderCount: 1, revenue: 30, suppressed: true });

		// Nothing old is left: a second run deletes nothing.
		expect(await store.purgeBefore(CUTOFF, { emailEvents: true })).toEqual({ events: 0, emailEvents: 0 });
	}, 180_000);

	it('leaves the email events alone when told to, and deletes exactly the rows before the cutoff', async () => {
		const profile = await store.upsertProfile({ email: 'ada@example.com' }, {});
		const at = (ms: number) => eventReceived(ms, { type: 'track', event: 'Product Viewed', userId: 'ada' });
		const events = [at(CUTOFF.getTime() - 1), at(CUTOFF.getTime()), at(CUTOFF.getTime() + 1)];
		await store.appendEvents(events);
		await insertRows(
			store.driver,
			'INSERT INTO rt_email_events (provider, event_id, profile_id, send_key, kind, occurred_at, received_at)',
			emailEventRows('e', 3, (i) => CUTOFF.getTime() - 1 + i, profile.id),
		);

		// The profile's own identify event was received now: it stays too.
		expect(await store.purgeBefore(CUTOFF, { emailEvents: false })).toEqual({ events: 1, emailEvents: 0 });
		const left = await store.driver.all<{ message_id: string }>('SELECT message_id FROM rt_events');
		expect(left.map((r) => r.message_id)).toEqual(expect.arrayContaining([events[1].messageId, events[2].messageId]));
		expect(left.map((r) => r.message_id)).not.toContain(events[0].messageId);
		expect((await store.driver.all('SELECT event_id FROM rt_email_events')).length).toBe(3);

		expect(await store.purgeBefore(CUTOFF, { emailEvents: true })).toEqual({ events: 0, emailEvents: 1 });
		expect((await store.driver.all<{ event_id: string }>('SELECT event_id FROM rt_email_events ORDER BY event_id')).map((r) => r.event_id)).toEqual(['e-1', 'e-2']);
	});
});
