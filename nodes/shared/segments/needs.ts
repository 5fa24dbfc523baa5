import { ATTRIBUTES, type Condition, type FunnelStage, type Segment } from './rules';

const DAY_MS = 86_400_000;

/** A score criterion's field that names a trait of the person's company, such as company.employees. */
export const COMPANY_PREFIX = 'company.';

/** The events that move a person along the funnel, by the stage they reach. */
export const FUNNEL_EVENTS: Record<Exclude<FunnelStage, 'none'>, string[]> = {
	category: ['Product List Viewed', 'Product List Filtered', 'Products Searched'],
	product: ['Product Viewed', 'Product Clicked'],
	cart: ['Product Added', 'Cart Viewed'],
	checkout: ['Checkout Started', 'Checkout Step Viewed', 'Checkout Step Completed', 'Payment Info Entered'],
	purchase: ['Order Completed'],
};

/**
 * What the store must be asked for a set of segments, worked out once per execution, so that a
 * batch of people costs one query per kind of data whatever the number of conditions.
 */
export interface FactNeeds {
	/** Track events by name, from `eventsSince` (ms; 0: all time). */
	events: Set<string>;
	eventsSince: number;
	/** Whether a property filter needs the events' properties. */
	eventProperties: boolean;
	/** The person's latest event context (device, time zone, location). */
	context: boolean;
	orders: boolean;
	/** The predictive models' latest fit (the conditions read it with the person's orders). */
	prediction: boolean;
	carts: boolean;
	sends: Set<string>;
	sendsSince: number;
	/** The person's company and its traits. */
	account: boolean;
	/** What the company's current people did: track events by name, or any event (`accountAnyEvent`), from `accountEventsSince`. */
	accountEvents: Set<string>;
	accountAnyEvent: boolean;
	accountEventsSince: number;
}

/** Whether a named attribute is read from an event's context (the device, the locale): `Object.hasOwn`, so a name such as toString is none. */
function readsContext(attribute: string): boolean {
	return Object.hasOwn(ATTRIBUTES, attribute) && ATTRIBUTES[attribute as keyof typeof ATTRIBUTES].some((p) => p.startsWith('context.'));
}

export function factNeeds(segments: Segment[], now: number): FactNeeds {
	const needs: FactNeeds = {
		events: new Set(),
		eventsSince: now,
		eventProperties: false,
		context: false,
		orders: false,
		prediction: false,
		carts: false,
		sends: new Set(),
		sendsSince: now,
		account: false,
		accountEvents: new Set(),
		accountAnyEvent: false,
		accountEventsSince: now,
	};
	const eventsFor = (names: string[], withinDays: number) => {
		for (const n of names) needs.events.add(n);
		needs.eventsSince = Math.min(needs.eventsSince, withinDays > 0 ? now - withinDays * DAY_MS : 0);
	};
	const accountEventsFor = (names: string[], withinDays: number) => {
		needs.account = true;
		for (const n of names) needs.accountEvents.add(n);
		if (names.length === 0) needs.accountAnyEvent = true;
		needs.accountEventsSince = Math.min(needs.accountEventsSince, withinDays > 0 ? now - withinDays * DAY_MS : 0);
	};
	for (const condition of segments.flatMap((s) => s.groups.flat())) need(condition);
	return needs;

	function need(c: Condition): void {
		switch (c.type) {
			case 'attribute':
				if (c.attribute !== 'trait' && readsContext(c.attribute)) needs.context = true;
				return;
			case 'behaviour':
				eventsFor([c.event], c.withinDays);
				if (c.property) needs.eventProperties = true;
				return;
			case 'funnelStage':
				eventsFor(Object.values(FUNNEL_EVENTS).flat(), c.withinDays);
				return;
			case 'score':
				eventsFor(c.weights.map((w) => w.event), c.withinDays);
				for (const criterion of c.criteria ?? []) criterionNeeds(criterion.field);
				return;
			case 'accountTrait':
				needs.account = true;
				return;
			case 'accountEngagement':
				accountEventsFor(c.event ? [c.event] : [], c.withinDays);
				return;
			case 'accountScore':
				accountEventsFor(c.weights.map((w) => w.event), c.withinDays);
				return;
			case 'lifecycle':
			case 'rfm':
				needs.orders = true;
				return;
			case 'noOrderSinceCart':
				needs.orders = true;
				needs.carts = true;
				return;
			case 'probabilityActive':
			case 'expectedOrders':
			case 'predictedValue':
			case 'nextOrderPassed':
				needs.orders = true;
				needs.prediction = true;
				return;
			case 'frequencyCap':
				needs.sends.add(c.channel);
				needs.sendsSince = Math.min(needs.sendsSince, now - c.withinHours * 3_600_000);
				return;
			case 'quietHours':
				needs.context = true;
				return;
			case 'dormant':
			case 'consent':
			case 'notSuppressed':
				return;
		}
	}

	function criterionNeeds(field: string): void {
		if (field.startsWith(COMPANY_PREFIX)) needs.account = true;
		else if (readsContext(field)) needs.context = true;
	}
}
