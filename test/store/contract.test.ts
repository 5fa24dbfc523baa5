import { parseEvent, type TrackedEvent } from '../../nodes/shared/events/model.ts';
import { confirmSends, reserveSends } from '../../nodes/shared/delivery/ledger.ts';
import { logTouchpoints, recordArms } from '../../nodes/shared/store/attribution.ts';
import { recordAudienceChanges } from '../../nodes/shared/store/audiences.ts';
import { SCHEMA_VERSION } from '../../nodes/shared/store/migrations.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

let clock = Date.parse('2026-11-01T10:00:00.000Z');
let sequence = 0;

/** A valid event, through the same parser the Tracking Trigger uses; each a minute after the last. */
function ev(raw: Record<string, unknown>): TrackedEvent {
	clock += 60_000;
	const result = parseEvent({ messageId: `m-${++sequence}`, timestamp: new Date(clock).toISOString(), ...raw });
	if (!result.ok) throw new Error(JSON.stringify(result.errors));
	return result.event;
}

const PERSONAL_TABLES = ['rt_events', 'rt_carts', 'rt_cart_progress', 'rt_sends', 'rt_touchpoints', 'rt_conversions', 'rt_campaign_members', 'rt_audience_members', 'rt_identities'];

describe.each(BACKENDS)('retargeting store on %s', (_name, makeFixture) => {
	let fixture: StoreFixture;
	let store: RetargetingStore;

	beforeEach(async () => {
		fixture = makeFixture();
		store = await fixture.open();
		await store.migrate();
	});

	afterEach(async () => {
		await fixture.dispose();
	});

	describe('schema', () => {
		it('is at the newest version, and migrating again changes nothing', async () => {
			expect(await store.migrate()).toBe(SCHEMA_VERSION);
			const [row] = await store.driver.all<{ n: number }>('SELECT COUNT(*) AS n FROM rt_migrations');
			expect(Number(row.n)).toBe(SCHEMA_VERSION);
		});

		it('survives several processes migrating at once', async () => {
			const others = await Promise.all([fixture.open(), fixture.open(), fixture.open()]);
			const versions = await Promise.all(others.map(async (s) => await s.migrate()));
			expect(versions).toEqual([SCHEMA_VERSION, SCHEMA_VERSION, SCHEMA_VERSION]);
		});
	});

	describe('appending events', () => {
		it('stores a batch and reports every event', async () => {
			const batch = Array.from({ length: 50 }, (_, i) => ev({ type: 'track', event: 'Product Viewed', anonymousId: `a-${i % 5}` }));
			const result = await store.appendEvents(batch);
			expect(result.stored).toHaveLength(50);
			expect(result.duplicates).toEqual([]);
			const profile = await store.findProfile({ anonymousId: 'a-3' });
			expect(profile?.eventCount).toBe(10);
		});

		it('appends concurrent batches, each whole and with its own result', async () => {
			const batches = Array.from({ length: 8 }, () =>
				Array.from({ length: 20 }, (_, i) => ev({ type: 'track', event: 'Product Viewed', anonymousId: `c-${i % 4}` })),
			);
			const results = await Promise.all(batches.map(async (batch) => await store.appendEvents(batch)));
			results.forEach((result, b) => expect(result.stored.map((s) => s.messageId)).toEqual(batches[b].map((e) => e.messageId)));
			expect((await store.findProfile({ anonymousId: 'c-1' }))?.eventCount).toBe(40);
		});

		it('keeps one person, one cart and one copy of each event when several processes append for the same new visitors at once', async () => {
			// Each store has its own connection(s), as each n8n process (main, workers) has: only the database orders them.
			const processes = [store, await fixture.open(), await fixture.open()];
			const visitors = Array.from({ length: 30 }, (_, i) => `race-${i}`);
			const replayed = ev({ type: 'track', event: 'Product Viewed', anonymousId: 'race-replayed' });
			const batches = processes.map(() => [
				...visitors.map((v) => ev({ type: 'track', event: 'Product Added', anonymousId: v, properties: { cart_id: `cart-${v}`, product_id: 'p1', price: 10 } })),
				replayed,
			]);
			const results = await Promise.all(processes.map(async (s, i) => await s.appendEvents(batches[i])));

			expect(results.map((r) => r.duplicates.length).sort()).toEqual([0, 1, 1]);
			for (const v of visitors) {
				const profile = await store.findProfile({ anonymousId: v });
				expect(profile?.eventCount).toBe(3);
				expect(await store.history(profile!.id)).toHaveLength(3);
				expect((await store.getCart(`cart-${v}`))?.items).toEqual([expect.objectContaining({ productId: 'p1', quantity: 3 })]);
			}
			const [{ n }] = await store.driver.all<{ n: number }>('SELECT COUNT(*) AS n FROM rt_profiles');
			expect(Number(n)).toBe(visitors.length + 1);
			const [{ events }] = await store.driver.all<{ events: number }>('SELECT COUNT(*) AS events FROM rt_events');
			expect(Number(events)).toBe(visitors.length * 3 + 1);
		});

		it('treats a replayed messageId as a duplicate and changes nothing', async () => {
			const first = ev({ type: 'track', event: 'Product Viewed', anonymousId: 'a-1', properties: { product_id: 'p1' } });
			await store.appendEvents([first]);
			const before = await store.findProfile({ anonymousId: 'a-1' });
			const replay = { ...first, properties: { product_id: 'changed' } };
			const result = await store.appendEvents([replay, replay]);
			expect(result).toEqual({ stored: [], duplicates: [first.messageId, first.messageId] });
			expect(await store.findProfile({ anonymousId: 'a-1' })).toEqual(before);
			expect((await store.history(before!.id))[0].properties).toEqual({ product_id: 'p1' });
		});

		it('keeps the first of two events with one messageId in the same batch', async () => {
			const a = ev({ type: 'track', event: 'Product Viewed', anonymousId: 'a-1' });
			const result = await store.appendEvents([a, { ...a, event: 'Other' }]);
			expect(result.stored.map((s) => s.messageId)).toEqual([a.messageId]);
			expect(result.duplicates).toEqual([a.messageId]);
		});

		it('stores SQL-looking strings verbatim', async () => {
			const nasty = "x'); DROP TABLE rt_events; --";
			const event = ev({ type: 'track', event: nasty, userId: nasty, properties: { note: nasty, "we'ird": 1 } });
			await store.appendEvents([event]);
			const profile = await store.findProfile({ userId: nasty });
			expect(profile?.userId).toBe(nasty);
			const [stored] = await store.history(profile!.id);
			expect(stored).toEqual(event);
		});
	});

	describe('identity', () => {
		it('merges the anonymous history into the profile when the visitor identifies', async () => {
			await store.appendEvents([
				ev({ type: 'page', anonymousId: 'anon-9', context: { page: { url: 'https://shop.test/?utm_source=news&utm_campaign=spring' } } }),
				ev({ type: 'track', event: 'Product Viewed', anonymousId: 'anon-9' }),
			]);
			await store.appendEvents([
				ev({ type: 'track', event: 'Order Completed', userId: 'u-42', properties: { order_id: 'o1', revenue: 30 } }),
			]);
			await store.appendEvents([
				ev({ type: 'identify', anonymousId: 'anon-9', userId: 'u-42', traits: { email: ' Ada@Example.COM ', first_name: 'Ada' } }),
			]);
			const byUser = await store.findProfile({ userId: 'u-42' });
			expect(byUser).toMatchObject({ userId: 'u-42', email: 'ada@example.com', eventCount: 4, orderCount: 1, revenue: 30 });
			expect(byUser?.traits).toMatchObject({ first_name: 'Ada' });
			expect(await store.findProfile({ anonymousId: 'anon-9' })).toEqual(byUser);
			expect(await store.findProfile({ email: 'ADA@example.com' })).toEqual(byUser);
			const history = await store.history(byUser!.id);
			expect(history.map((e) => e.type)).toEqual(['page', 'track', 'track', 'identify']);
			const [{ n }] = await store.driver.all<{ n: number }>('SELECT COUNT(*) AS n FROM rt_profiles');
			expect(Number(n)).toBe(1);
		});

		it('merges on alias (previousId into userId)', async () => {
			await store.appendEvents([ev({ type: 'track', event: 'Product Viewed', anonymousId: 'old-device' })]);
			await store.appendEvents([ev({ type: 'track', event: 'Product Viewed', userId: 'u-7' })]);
			await store.appendEvents([ev({ type: 'alias', previousId: 'old-device', userId: 'u-7' })]);
			const profile = await store.findProfile({ userId: 'u-7' });
			expect(profile?.eventCount).toBe(3);
			expect(await store.findProfile({ anonymousId: 'old-device' })).toEqual(profile);
		});

		it('never merges two people with different userIds on a shared device', async () => {
			await store.appendEvents([ev({ type: 'identify', anonymousId: 'family-pc', userId: 'mum' })]);
			await store.appendEvents([ev({ type: 'identify', anonymousId: 'family-pc', userId: 'dad' })]);
			const mum = await store.findProfile({ userId: 'mum' });
			const dad = await store.findProfile({ userId: 'dad' });
			expect(mum?.id).not.toBe(dad?.id);
			expect(dad?.eventCount).toBe(1);
		});

		it('keeps a consent withdrawal when profiles merge', async () => {
			await store.appendEvents([ev({ type: 'identify', userId: 'u-1', context: { consent: { email: true, ads: true } } })]);
			await store.appendEvents([ev({ type: 'track', event: 'Product Viewed', anonymousId: 'anon-1', context: { consent: { ads: false } } })]);
			await store.appendEvents([ev({ type: 'identify', anonymousId: 'anon-1', userId: 'u-1' })]);
			expect((await store.findProfile({ userId: 'u-1' }))?.consent).toEqual({ email: true, ads: false });
		});

		it('applies the merge rules the same when the merge happens inside the batch that changed the profile', async () => {
			await store.appendEvents([
				ev({ type: 'identify', anonymousId: 'anon-2', traits: { email: 'old@example.com', plan: 'free' }, context: { consent: { email: false } } }),
			]);
			await store.appendEvents([
				ev({ type: 'identify', userId: 'u-2', traits: { email: 'new@example.com', plan: 'pro' }, context: { consent: { email: true } } }),
				ev({ type: 'identify', userId: 'u-2', anonymousId: 'anon-2' }),
			]);
			const profile = await store.findProfile({ userId: 'u-2' });
			// As if sent one at a time: the known profile's email and traits win, and the withdrawal stays.
			expect(profile).toMatchObject({ userId: 'u-2', email: 'new@example.com', traits: { plan: 'pro' }, consent: { email: false }, eventCount: 3 });
			expect(await store.findProfile({ anonymousId: 'anon-2' })).toEqual(profile);
		});

		it('keeps the userId of the known profile when an alias merges in the same batch', async () => {
			await store.appendEvents([ev({ type: 'identify', anonymousId: 'anon-3', userId: 'u-old' })]);
			await store.appendEvents([
				ev({ type: 'page', userId: 'u-3' }),
				ev({ type: 'alias', userId: 'u-3', previousId: 'anon-3' }),
			]);
			expect((await store.findProfile({ userId: 'u-3' }))?.userId).toBe('u-3');
		});
	});

	describe('carts', () => {
		it('follows Product Added and Removed, and Checkout Started replaces the lines', async () => {
			const who = { anonymousId: 'shopper' };
			await store.appendEvents([
				ev({ type: 'track', event: 'Product Added', ...who, properties: { cart_id: 'c1', product_id: 'p1', price: 10, quantity: 2, currency: 'eur' } }),
				ev({ type: 'track', event: 'Product Added', ...who, properties: { cart_id: 'c1', product_id: 'p2', price: 5.5, quantity: 1 } }),
				ev({ type: 'track', event: 'Product Removed', ...who, properties: { cart_id: 'c1', product_id: 'p1', quantity: 1 } }),
			]);
			expect(await store.getCart('c1')).toMatchObject({ status: 'open', value: 15.5, currency: 'EUR', items: [{ productId: 'p1', quantity: 1 }, { productId: 'p2', quantity: 1 }] });
			await store.appendEvents([
				ev({ type: 'track', event: 'Checkout Started', ...who, properties: { cart_id: 'c1', products: [{ product_id: 'p3', price: 99, quantity: 1 }] } }),
			]);
			expect(await store.getCart('c1')).toMatchObject({ value: 99, items: [{ productId: 'p3', price: 99, quantity: 1 }] });
		});

		it('marks the cart converted on Order Completed, by cart id or else by person', async () => {
			await store.appendEvents([
				ev({ type: 'track', event: 'Product Added', userId: 'u-5', properties: { product_id: 'p1', price: 20 } }),
				ev({ type: 'track', event: 'Order Completed', userId: 'u-5', properties: { order_id: 'o-5', total: 20 } }),
			]);
			const profile = await store.findProfile({ userId: 'u-5' });
			const [cart] = await store.cartsOf(profile!.id);
			expect(cart).toMatchObject({ status: 'converted', orderId: 'o-5' });
			expect(cart.convertedAt).not.toBeNull();
		});

		it('starts a new life for a converted cart that gets a product again: new opening time, no order', async () => {
			const add = () => ev({ type: 'track', event: 'Product Added', anonymousId: 'again', properties: { cart_id: 'c-again', product_id: 'p1', price: 5 } });
			await store.appendEvents([add()]);
			await store.appendEvents([ev({ type: 'track', event: 'Order Completed', anonymousId: 'again', properties: { order_id: 'o-again', cart_id: 'c-again' } })]);
			const reopening = add();
			await store.appendEvents([reopening]);
			expect(await store.getCart('c-again')).toMatchObject({
				status: 'open',
				openedAt: reopening.timestamp,
				convertedAt: null,
				orderId: null,
			});
		});

		it('counts a cart emptied by removals as emptied', async () => {
			await store.appendEvents([
				ev({ type: 'track', event: 'Product Added', anonymousId: 'x', properties: { cart_id: 'c9', product_id: 'p1', price: 3 } }),
				ev({ type: 'track', event: 'Product Removed', anonymousId: 'x', properties: { cart_id: 'c9', product_id: 'p1' } }),
			]);
			expect(await store.getCart('c9')).toMatchObject({ status: 'emptied', value: 0, items: [] });
		});
	});

	const noOrphans = Object.fromEntries(PERSONAL_TABLES.map((table) => [table, 0]));

	/** Rows of each personal table that point at a profile no longer there. */
	const orphans = async () => {
		const counts: Record<string, number> = {};
		for (const table of PERSONAL_TABLES) {
			const [{ n }] = await store.driver.all<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} t WHERE NOT EXISTS (SELECT 1 FROM rt_profiles p WHERE p.id = t.profile_id)`);
			counts[table] = Number(n);
		}
		return counts;
	};

	describe('the Profile operations', () => {
		it('upserts, suppresses and unsuppresses a person', async () => {
			const created = await store.upsertProfile({ email: 'Lee@Example.com' }, { traits: { plan: 'pro' }, consent: { email: true } });
			expect(created).toMatchObject({ email: 'lee@example.com', consent: { email: true }, suppressed: false });
			expect(await store.setSuppressed({ email: 'lee@example.com' }, true, 'hard bounce')).toMatchObject({ suppressed: true, suppressedReason: 'hard bounce' });
			expect(await store.setSuppressed({ email: 'lee@example.com' }, false)).toMatchObject({ suppressed: false, suppressedReason: null });
		});

		it('merges two profiles on request', async () => {
			await store.appendEvents([ev({ type: 'track', event: 'Product Viewed', anonymousId: 'p-a' }), ev({ type: 'track', event: 'Product Viewed', userId: 'p-b' })]);
			const merged = await store.mergeProfiles({ userId: 'p-b' }, { anonymousId: 'p-a' });
			expect(merged?.eventCount).toBe(2);
			expect(merged?.identities).toEqual([{ kind: 'anonymousId', value: 'p-a' }, { kind: 'userId', value: 'p-b' }]);
		});

		it('exports everything held about a person', async () => {
			await store.appendEvents([
				ev({ type: 'identify', userId: 'u-x', traits: { email: 'x@example.com' } }),
				ev({ type: 'track', event: 'Product Added', userId: 'u-x', properties: { product_id: 'p1', price: 4 }, context: { page: { url: 'https://s.test/?gclid=G1' } } }),
				ev({ type: 'track', event: 'Order Completed', userId: 'u-x', properties: { order_id: 'o-x', revenue: 4 } }),
			]);
			const exported = await store.exportProfile({ email: 'x@example.com' });
			expect(exported?.events).toHaveLength(3);
			expect(exported?.carts).toHaveLength(1);
			expect(exported?.conversions).toEqual([expect.objectContaining({ order_id: 'o-x' })]);
			expect(exported?.touchpoints).toEqual([expect.objectContaining({ click_id: 'gclid:G1' })]);
		});

		it('erases every row about a person in every table, and nobody else', async () => {
			const person = { userId: 'erase-me', anonymousId: 'erase-anon' };
			await store.appendEvents([
				ev({ type: 'track', event: 'Product Viewed', anonymousId: person.anonymousId, context: { page: { url: 'https://s.test/?utm_source=ads&fbclid=F1' } } }),
				ev({ type: 'identify', ...person, traits: { email: 'erase@example.com', first_name: 'Eve' } }),
				ev({ type: 'track', event: 'Product Added', userId: person.userId, properties: { product_id: 'p1', price: 9 } }),
				ev({ type: 'track', event: 'Order Completed', userId: person.userId, properties: { order_id: 'o-erase', revenue: 9 } }),
				ev({ type: 'track', event: 'Product Viewed', userId: 'keep-me' }),
			]);
			const profile = await store.findProfile({ userId: person.userId });
			await store.driver.run(
				"INSERT INTO rt_sends (idempotency_key, profile_id, channel, status, created_at) VALUES (?, ?, 'email', 'sent', ?)",
				['k1', profile!.id, new Date().toISOString()],
			);
			await recordArms(store.driver, 'cart-recovery', [{ profileId: profile!.id, arm: 'holdout' }], new Date());
			await recordAudienceChanges(store.driver, 'meta', 'viewers', { added: [profile!.id], removed: [] }, new Date());
			const deleted = await store.eraseProfile({ email: 'erase@example.com' });
			expect(deleted).toMatchObject({ rt_profiles: 1, rt_events: 4, rt_sends: 1, rt_conversions: 1, rt_carts: 1, rt_touchpoints: 1, rt_campaign_members: 1, rt_audience_members: 1, rt_identities: 3 });
			for (const table of [...PERSONAL_TABLES, 'rt_profiles']) {
				const rows = await store.driver.all<Record<string, unknown>>(`SELECT * FROM ${table}`);
				const text = JSON.stringify(rows);
				for (const trace of [profile!.id, 'erase-me', 'erase-anon', 'erase@example.com', 'o-erase', 'Eve']) {
					expect(text).not.toContain(trace);
				}
			}
			expect(await store.findProfile({ userId: 'keep-me' })).toMatchObject({ eventCount: 1 });
			expect(await store.eraseProfile({ userId: 'erase-me' })).toBeUndefined();
		});

		it('leaves no row of an erased person behind while another process is appending their events', async () => {
			const tracker = await fixture.open();
			await store.appendEvents([ev({ type: 'identify', anonymousId: 'busy', traits: { email: 'busy@example.com' } })]);
			for (let round = 0; round < 10; round++) {
				const batch = Array.from({ length: 5 }, () => ev({ type: 'track', event: 'Product Added', anonymousId: 'busy', properties: { cart_id: 'c-busy', product_id: 'p1' } }));
				await Promise.all([tracker.appendEvents(batch), store.eraseProfile({ anonymousId: 'busy' })]);
			}
			// Events that came after an erasure start a new profile; none may point at an erased one.
			expect(await orphans()).toEqual(noOrphans);
		});

		it('keeps no send, touchpoint, campaign draw or audience membership written for a person as they are erased', async () => {
			const writer = await fixture.open();
			for (let round = 0; round < 6; round++) {
				const who = `late-${round}`;
				await store.appendEvents([ev({ type: 'identify', userId: who, traits: { email: `${who}@example.com` } })]);
				const profileId = (await store.findProfile({ userId: who }))!.id;
				// Another process found the person before the erasure, and writes after it or during it.
				const record = { key: `wf:email:${who}@example.com:1`, profileId, channel: 'email', campaign: 'c', step: 1 };
				const write = async () => {
					const reserved = await reserveSends(writer.driver, [record]);
					await confirmSends(writer.driver, [{ record, sent: reserved.get(record.key) === 'reserved' }]);
					await logTouchpoints(writer.driver, [{ id: `log:${who}`, profileId, kind: 'email_clicked', channel: null, source: null, medium: null, campaign: 'c', clickId: null, at: new Date() }]);
					await recordArms(writer.driver, 'c', [{ profileId, arm: 'treated' }], new Date());
					await recordAudienceChanges(writer.driver, 'meta', 'a', { added: [profileId], removed: [] }, new Date());
					return reserved.get(record.key);
				};
				if (round % 2 === 0) {
					await store.eraseProfile({ userId: who });
					expect(await write()).toBe('gone');
				} else {
					await Promise.all([write(), store.eraseProfile({ userId: who })]);
				}
			}
			expect(await orphans()).toEqual(noOrphans);
			expect(JSON.stringify(await store.driver.all('SELECT * FROM rt_sends'))).not.toContain('@example.com');
		});
	});

	it('purges events older than the retention age', async () => {
		const old = { ...ev({ type: 'track', event: 'Product Viewed', anonymousId: 'r' }), receivedAt: '2025-01-01T00:00:00.000Z' };
		const recent = ev({ type: 'track', event: 'Product Viewed', anonymousId: 'r' });
		await store.appendEvents([old, recent]);
		expect(await store.purgeEventsBefore(new Date('2026-01-01T00:00:00Z'))).toBe(1);
		const profile = await store.findProfile({ anonymousId: 'r' });
		expect((await store.history(profile!.id)).map((e) => e.messageId)).toEqual([recent.messageId]);
	});
});
