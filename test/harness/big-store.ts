import type { SqlValue } from '../../nodes/shared/store/driver.ts';
import { insertRows } from '../../nodes/shared/store/sql.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';

const DAY = 86_400_000;

/** The touchpoints' sources, with the fields the default channel rules read: seven channels. */
const TOUCHES: Array<[kind: string, source: string | null, medium: string | null, clickId: string | null, campaign: string | null]> = [
	['visit', 'google', 'cpc', 'gclid:x', 'brand'],
	['visit', 'facebook', 'paid_social', 'fbclid:x', 'prospecting'],
	['email_sent', 'smtp', 'email', null, 'cart-recovery'],
	['visit', null, null, 'rt_cid:x', 'cart-recovery'],
	['ad_impression', 'criteo', 'display', null, 'retargeting'],
	['visit', 'google', 'organic', null, null],
	['visit', null, null, null, null],
];

export interface BigStore {
	profiles: number;
	touchpoints: number;
	conversions: number;
	/** The report period that covers them: its conversions, and every touchpoint within 30 days' lookback. */
	from: Date;
	to: Date;
}

/**
 * Fills a migrated store with `profiles` people (all with email consent), 5 touchpoints for every
 * fifth person (so `profiles` touchpoints), spread over the 48 days before the last 2, and one
 * order for every other touched person in the last 2 days before `end`. Rows go straight into the
 * tables in multi-row inserts, 20,000 people a transaction: the fill is not what is measured.
 */
export async function fillBigStore(store: RetargetingStore, profiles: number, end: number): Promise<BigStore> {
	const iso = (ms: number) => new Date(ms).toISOString();
	let touchpoints = 0;
	let conversions = 0;
	for (let start = 0; start < profiles; start += 20_000) {
		const people: SqlValue[][] = [];
		const touches: SqlValue[][] = [];
		const orders: SqlValue[][] = [];
		for (let i = start; i < Math.min(profiles, start + 20_000); i++) {
			const id = `big-${String(i).padStart(8, '0')}`;
			people.push([id, `u-${i}`, `u${i}@example.com`, `{"country":"${['FR', 'BE', 'DE'][i % 3]}"}`, '{"email":true}', 0, iso(end - 200 * DAY), iso(end - (i % 60) * DAY)]);
			if (i % 5 !== 0) continue;
			for (let k = 0; k < 5; k++) {
				const [kind, source, medium, clickId, campaign] = TOUCHES[(i + k * 3) % TOUCHES.length];
				touches.push([id, source, medium, campaign, clickId, kind, iso(end - 50 * DAY + ((i * 7919 + k * 104_729) % (48 * DAY)))]);
			}
			if (i % 10 === 0) orders.push([`big-o-${i}`, id, 50 + (i % 200), 'EUR', 'completed', iso(end - 2 * DAY + (i % DAY))]);
		}
		touchpoints += touches.length;
		conversions += orders.length;
		await store.driver.transaction(async (tx) => {
			await insertRows(tx, 'INSERT INTO rt_profiles (id, user_id, email, traits, consent, suppressed, first_seen, last_seen)', people);
			await insertRows(tx, 'INSERT INTO rt_touchpoints (profile_id, source, medium, campaign, click_id, kind, occurred_at)', touches);
			await insertRows(tx, 'INSERT INTO rt_conversions (order_id, profile_id, revenue, currency, status, occurred_at)', orders);
		});
	}
	return { profiles, touchpoints, conversions, from: new Date(end - 30 * DAY), to: new Date(end) };
}
