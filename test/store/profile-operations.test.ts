import { parseEvent } from '../../nodes/shared/events/model.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import { erasePerson } from '../../nodes/RetargetingProfile/actions/person/erase.operation.ts';
import { exportPerson } from '../../nodes/RetargetingProfile/actions/person/export.operation.ts';
import { getPerson } from '../../nodes/RetargetingProfile/actions/person/get.operation.ts';
import type { Lookup } from '../../nodes/RetargetingProfile/actions/person/lookup.ts';
import { mergePeople } from '../../nodes/RetargetingProfile/actions/person/merge.operation.ts';
import { suppressPerson } from '../../nodes/RetargetingProfile/actions/person/suppress.operation.ts';
import { unsuppressPerson } from '../../nodes/RetargetingProfile/actions/person/unsuppress.operation.ts';
import { BACKENDS, type StoreFixture } from '../harness/stores.ts';

const [sqlite] = BACKENDS;

describe('Retargeting Profile operations', () => {
	let fixture: StoreFixture;
	let store: RetargetingStore;

	beforeEach(async () => {
		fixture = sqlite[1]();
		store = await fixture.open();
		await store.migrate();
		const events = [
			{ type: 'track', event: 'Product Viewed', anonymousId: 'anon-1', messageId: 'e1' },
			{ type: 'identify', userId: 'u-1', traits: { email: 'kim@example.com' }, messageId: 'e2' },
		].map((raw) => {
			const parsed = parseEvent(raw);
			if (!parsed.ok) throw new Error('bad fixture');
			return parsed.event;
		});
		await store.appendEvents(events);
	});

	afterEach(async () => await fixture.dispose());

	it('gets a person with their history when asked', async () => {
		const out = await getPerson(store, { by: 'email', value: 'KIM@example.com' }, { includeHistory: true });
		expect(out).toMatchObject({ found: true, userId: 'u-1' });
		expect((out.history as unknown[]).length).toBe(1);
	});

	it('says who was not found, for every operation that looks someone up', async () => {
		const nobody: Lookup = { by: 'userId', value: 'nobody' };
		for (const operation of [getPerson, suppressPerson, unsuppressPerson, exportPerson]) {
			expect(await operation(store, nobody)).toEqual({
				found: false,
				lookupBy: 'userId',
				lookupValue: 'nobody',
			});
		}
		expect(await erasePerson(store, nobody)).toEqual({
			erased: false,
			found: false,
			lookupBy: 'userId',
			lookupValue: 'nobody',
		});
	});

	it('merges the anonymous visitor into the known person', async () => {
		const out = await mergePeople(store, { by: 'userId', value: 'u-1' }, { by: 'anonymousId', value: 'anon-1' });
		expect(out).toMatchObject({ found: true, eventCount: 2 });
	});

	it('suppresses with a reason and exports everything', async () => {
		expect(await suppressPerson(store, { by: 'userId', value: 'u-1' }, 'complaint')).toMatchObject({
			suppressed: true,
			suppressedReason: 'complaint',
		});
		const exported = await exportPerson(store, { by: 'email', value: 'kim@example.com' });
		expect(Object.keys(exported).sort()).toEqual(['accounts', 'audiences', 'campaigns', 'carts', 'consentLog', 'conversions', 'emailEvents', 'events', 'found', 'profile', 'recommendationProducts', 'sends', 'touchpoints', 'unsubscribedCampaigns']);
	});
});
