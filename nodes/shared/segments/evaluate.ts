import { canonicalEventName } from '../events/vocabulary';
import { CustomerPrediction } from '../predictive/figures';
import { NoFitError } from '../store/predictive';
import type { AccountFacts, CartFact, EventFact, PersonFacts } from './facts';
import { COMPANY_PREFIX, FUNNEL_EVENTS } from './needs';
import { isTimeZone, localHour } from './time-zones';
import { ATTRIBUTES, type Comparison, type Condition, describeCriterion, FUNNEL_STAGES, type FunnelStage, PREDICTIVE_CONDITIONS, type PropertyFilter, type ScoreCriterion, type Segment } from './rules';

const DAY_MS = 86_400_000;

/** What a person's evaluation read, keyed by what it is, so a message can be personalised from it. */
export type UsedFacts = Record<string, unknown>;

export interface SegmentMatch {
	/** Names of the matching segments, in the order of the segments. */
	matched: string[];
	/** What every condition tried read (why nobody matched, when none did). */
	facts: UsedFacts;
	/** What each matching segment's conditions read, so values never mix between segments. */
	factsBySegment: Record<string, UsedFacts>;
}

/**
 * Segments compiled once per execution: event names spelled as the store spells them, so the
 * per-person work is only counting and comparing.
 */
export function compileSegments(segments: Segment[]): Segment[] {
	const canonical = (c: Condition): Condition => {
		if (c.type === 'behaviour') return { ...c, event: canonicalEventName(c.event) };
		if (c.type === 'score' || c.type === 'accountScore') return { ...c, weights: c.weights.map((w) => ({ ...w, event: canonicalEventName(w.event) })) };
		if (c.type === 'accountEngagement' && c.event) return { ...c, event: canonicalEventName(c.event) };
		return c;
	};
	return segments.map((s) => ({ ...s, groups: s.groups.map((g) => g.map(canonical)) }));
}

/** The segments a person is in: all of them, or only the first (`firstOnly`). */
export function matchSegments(segments: Segment[], person: PersonFacts, cart: CartFact | undefined, now: number, firstOnly: boolean): SegmentMatch {
	const facts: UsedFacts = {};
	const factsBySegment: Record<string, UsedFacts> = {};
	const matched: string[] = [];
	for (const segment of segments) {
		const read: UsedFacts = {};
		const inSegment = segment.groups.length === 0 || segment.groups.some((group) => group.every((c) => holds(c, person, cart, now, read)));
		Object.assign(facts, read);
		if (!inSegment) continue;
		matched.push(segment.name);
		factsBySegment[segment.name] = read;
		if (firstOnly) break;
	}
	return { matched, facts, factsBySegment };
}

/** Whether one condition holds for a person at `now`; what it read goes into `facts`. */
export function holds(c: Condition, person: PersonFacts, cart: CartFact | undefined, now: number, facts: UsedFacts = {}): boolean {
	const { profile } = person;
	switch (c.type) {
		case 'attribute': {
			const value = c.attribute === 'trait' ? pathValue(profile.traits, c.path) : attributeValue(person, c.attribute);
			facts[c.attribute === 'trait' ? `traits.${c.path}` : c.attribute] = value ?? null;
			return compare(value, c.operator, c.value);
		}
		case 'behaviour':
		case 'funnelStage':
		case 'lifecycle':
		case 'rfm':
		case 'score':
			return activityHolds(c, person, now, facts);
		case 'accountTrait':
		case 'accountEngagement':
		case 'accountScore':
			return accountHolds(c, person, now, facts);
		case 'probabilityActive':
		case 'expectedOrders':
		case 'predictedValue':
		case 'nextOrderPassed':
			return predictionHolds(c, person, now, facts);
		case 'dormant': {
			const idleDays = (now - Date.parse(profile.lastSeen)) / DAY_MS;
			facts.daysSinceLastSeen = Math.floor(idleDays);
			return idleDays >= c.days;
		}
		case 'noOrderSinceCart': {
			const subject = cart ?? person.latestCart;
			facts.cart = subject ? { id: subject.id, status: subject.status } : null;
			if (!subject || subject.status !== 'open') return false;
			return !person.orders.some((o) => o.at >= subject.openedAt);
		}
		case 'consent': {
			const given = profile.consent[c.channel];
			facts[`${c.channel} consent`] = given ?? null;
			return c.explicit ? given === true : given !== false;
		}
		case 'notSuppressed':
			facts.suppressed = profile.suppressed;
			return !profile.suppressed;
		case 'frequencyCap': {
			const from = now - c.withinHours * 3_600_000;
			const sent = person.sends.filter((s) => s.channel === c.channel && s.at >= from).length;
			facts[`${c.channel} sends`] = sent;
			return sent < c.max;
		}
		case 'quietHours': {
			const own = attributeValue(person, 'timezone');
			const zone = typeof own === 'string' && isTimeZone(own) ? own : c.fallbackTimezone;
			const hour = localHour(zone, now);
			facts.localTime = { timezone: zone, hour };
			return !inQuietHours(hour, c.start, c.end);
		}
	}
}

/** The start of a condition's window of days before now; 0 days: all time. */
const windowStart = (withinDays: number, now: number) => (withinDays > 0 ? now - withinDays * DAY_MS : -Infinity);

/** A condition on what the person did: their events, funnel stage, orders, score. */
function activityHolds(c: Extract<Condition, { type: 'behaviour' | 'funnelStage' | 'lifecycle' | 'rfm' | 'score' }>, person: PersonFacts, now: number, facts: UsedFacts): boolean {
	const from = windowStart(c.withinDays, now);
	switch (c.type) {
		case 'behaviour': {
			const count = person.events.filter((e) => e.event === c.event && e.at >= from && (!c.property || propertyMatches(e, c.property))).length;
			facts[`${c.event} count`] = count;
			return c.did ? count >= c.times : count < c.times;
		}
		case 'funnelStage': {
			const stage = funnelStage(person.events, from);
			facts.funnelStage = stage;
			const reached = FUNNEL_STAGES.indexOf(stage);
			const wanted = FUNNEL_STAGES.indexOf(c.stage);
			return c.operator === 'is' ? reached === wanted : c.operator === 'atLeast' ? reached >= wanted : reached < wanted;
		}
		case 'lifecycle':
			// Orders as recorded once per order id, not the profile's count of Order Completed events.
			facts.orders = person.orders.length;
			return milestoneReached(c, person, from);
		case 'rfm': {
			const value = rfmValue(c, person, now, from);
			facts[c.measure] = value ?? null;
			// Someone who never ordered has no recency: they are in no recency condition.
			return value !== undefined && compareNumbers(value, c.operator, c.value);
		}
		case 'score': {
			const scoredBy = scoreReasons(c, person, from);
			const score = scoredBy.reduce((sum, r) => sum + r.points, 0);
			facts.score = score;
			facts.scoredBy = scoredBy;
			return compareNumbers(score, c.operator, c.value);
		}
	}
}

/** A condition on the person's company: its traits, how many of its people are engaged, its score. */
function accountHolds(c: Extract<Condition, { type: 'accountTrait' | 'accountEngagement' | 'accountScore' }>, person: PersonFacts, now: number, facts: UsedFacts): boolean {
	const account = companyFacts(person, facts);
	switch (c.type) {
		case 'accountTrait': {
			const value = account ? pathValue(account.traits, c.path) : undefined;
			facts[`${COMPANY_PREFIX}${c.path}`] = value ?? null;
			return compare(value, c.operator, c.value);
		}
		case 'accountEngagement': {
			const from = windowStart(c.withinDays, now);
			const engaged = new Set(account?.activity.filter((a) => a.at >= from && (c.event ? a.type === 'track' && a.event === c.event : true)).map((a) => a.profileId));
			facts[c.event ? `company people who did ${c.event}` : 'company engaged people'] = engaged.size;
			return engaged.size >= c.people;
		}
		case 'accountScore': {
			const from = windowStart(c.withinDays, now);
			const weights = new Map(c.weights.map((w) => [w.event, w.weight]));
			let score = 0;
			for (const a of account?.activity ?? []) if (a.type === 'track' && a.at >= from) score += weights.get(a.event ?? '') ?? 0;
			facts['company score'] = score;
			// Someone with no company has no account score: they are in no account score condition.
			return !!account && compareNumbers(score, c.operator, c.value);
		}
	}
}

/** A score's points, each with what earned it: an event and how many times, or a profile criterion. */
export interface ScoreReason {
	reason: string;
	times?: number;
	points: number;
}

function scoreReasons(c: Extract<Condition, { type: 'score' }>, person: PersonFacts, from: number): ScoreReason[] {
	const times = new Map<string, number>();
	for (const e of person.events) if (e.at >= from) times.set(e.event, (times.get(e.event) ?? 0) + 1);
	const reasons: ScoreReason[] = [];
	for (const w of c.weights) {
		const n = times.get(w.event);
		if (n && w.weight) reasons.push({ reason: w.event, times: n, points: n * w.weight });
	}
	for (const criterion of c.criteria ?? []) {
		if (criterion.weight && compare(criterionValue(person, criterion), criterion.operator, criterion.value)) {
			reasons.push({ reason: describeCriterion(criterion), points: criterion.weight });
		}
	}
	return reasons;
}

/** A criterion's field: `company.` and a trait of the person's company, a named attribute, else a trait's path. */
function criterionValue(person: PersonFacts, c: ScoreCriterion): unknown {
	if (c.field.startsWith(COMPANY_PREFIX)) return person.account ? pathValue(person.account.traits, c.field.slice(COMPANY_PREFIX.length)) : undefined;
	if (Object.hasOwn(ATTRIBUTES, c.field)) return attributeValue(person, c.field as keyof typeof ATTRIBUTES);
	return pathValue(person.profile.traits, c.field.replace(/^traits\./, ''));
}

/** The person's company, noted in the facts (its id and name, or null) for every account condition. */
function companyFacts(person: PersonFacts, facts: UsedFacts): AccountFacts | undefined {
	const account = person.account;
	facts.company = account ? { id: account.id, name: account.traits.name ?? null } : null;
	return account;
}

/** Each person's figures, computed once per evaluation time however many conditions read them. */
const predictions = new WeakMap<PersonFacts, { now: number; prediction: CustomerPrediction | undefined }>();

function predictionOf(person: PersonFacts, now: number): CustomerPrediction | undefined {
	if (!person.model) throw new NoFitError();
	const known = predictions.get(person);
	if (known && known.now === now) return known.prediction;
	const prediction = CustomerPrediction.of(person.model, person.orders, now);
	predictions.set(person, { now, prediction });
	return prediction;
}

type PredictiveCondition = Extract<Condition, { type: (typeof PREDICTIVE_CONDITIONS)[number] }>;

/** A predictive condition; someone who never ordered is in none (the models know nothing of them). */
function predictionHolds(c: PredictiveCondition, person: PersonFacts, now: number, facts: UsedFacts): boolean {
	const prediction = predictionOf(person, now);
	if (!prediction) {
		facts.prediction = null;
		return false;
	}
	// With the cheap figures besides the one compared, a marketer sees more of why.
	const figures: UsedFacts = { ...(facts.prediction as UsedFacts | undefined), ...prediction.basics() };
	facts.prediction = figures;
	switch (c.type) {
		case 'probabilityActive':
			return compareNumbers(100 * prediction.probabilityActive(), c.operator, c.percent);
		case 'expectedOrders': {
			const orders = prediction.expectedOrders(c.days);
			figures[`expectedOrdersIn${c.days}Days`] = Math.round(orders * 100) / 100;
			return compareNumbers(orders, c.operator, c.value);
		}
		case 'predictedValue':
			Object.assign(figures, prediction.valueFigures());
			return c.operator === 'topPercent' ? prediction.valueTopPercent() <= c.value : compareNumbers(prediction.predictedValue(), c.operator, c.value);
		case 'nextOrderPassed':
			return now - prediction.expectedNextOrderAt() >= c.days * DAY_MS;
	}
}

function milestoneReached(c: Extract<Condition, { type: 'lifecycle' }>, person: PersonFacts, from: number): boolean {
	const orders = person.orders.length;
	switch (c.milestone) {
		case 'firstPurchase':
			return orders >= 1 && (c.withinDays === 0 || (person.orders[0]?.at ?? -Infinity) >= from);
		case 'repeatBuyer':
			return orders >= 2 && (c.withinDays === 0 || (person.orders[1]?.at ?? -Infinity) >= from);
		case 'neverPurchased':
			return orders === 0;
		case 'newsletter':
			return person.profile.consent.email === true || person.profile.traits.newsletter === true;
	}
	return false;
}

/** Days since the last order, orders or revenue within the window; undefined: recency of someone who never ordered. */
function rfmValue(c: Extract<Condition, { type: 'rfm' }>, person: PersonFacts, now: number, from: number): number | undefined {
	if (c.measure === 'recency') {
		// Recency ignores the window: it is the whole distance to the last order.
		const last = person.orders[person.orders.length - 1];
		return last ? Math.floor((now - last.at) / DAY_MS) : undefined;
	}
	const recent = person.orders.filter((o) => o.at >= from);
	return c.measure === 'frequency' ? recent.length : recent.reduce((sum, o) => sum + o.revenue, 0);
}

/** Quiet hours from `start` to `end` (exclusive), wrapping past midnight; equal hours: none. */
export function inQuietHours(hour: number, start: number, end: number): boolean {
	if (start === end) return false;
	return start < end ? hour >= start && hour < end : hour >= start || hour < end;
}

/** The furthest funnel stage that events since `from` reached. */
export function funnelStage(events: EventFact[], from: number): FunnelStage {
	let furthest = 0;
	for (const e of events) {
		if (e.at < from) continue;
		const stage = STAGE_OF_EVENT.get(e.event);
		if (stage !== undefined && stage > furthest) furthest = stage;
	}
	return FUNNEL_STAGES[furthest];
}

const STAGE_OF_EVENT = new Map<string, number>(
	Object.entries(FUNNEL_EVENTS).flatMap(([stage, names]) => names.map((n) => [n, FUNNEL_STAGES.indexOf(stage as FunnelStage)] as const)),
);

/** A named attribute: the first of its places that holds a value. */
export function attributeValue(person: PersonFacts, attribute: keyof typeof ATTRIBUTES): unknown {
	for (const place of ATTRIBUTES[attribute]) {
		const [root, ...rest] = place.split('.');
		const value =
			root === 'traits'
				? pathValue(person.profile.traits, rest.join('.'))
				: root === 'context'
					? pathValue(person.context, rest.join('.'))
					: (person.profile as unknown as Record<string, unknown>)[root];
		if (value === undefined || value === null || value === '') continue;
		if (attribute === 'emailDomain') return String(value).split('@').pop();
		return place === 'context.userAgent' ? deviceOfUserAgent(String(value)) : value;
	}
	return undefined;
}

/** mobile, tablet or desktop, from a browser's user agent. */
export function deviceOfUserAgent(userAgent: string): 'mobile' | 'tablet' | 'desktop' {
	if (/iPad|Tablet|Android(?!.*Mobile)/i.test(userAgent)) return 'tablet';
	if (/Mobi|iPhone|Android/i.test(userAgent)) return 'mobile';
	return 'desktop';
}

export function pathValue(object: unknown, path: string): unknown {
	let value: unknown = object;
	for (const key of path.split('.')) {
		// Own fields only: "constructor" or "toString" are not data.
		if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
		value = (value as Record<string, unknown>)[key];
	}
	return value;
}

function propertyMatches(event: EventFact, filter: PropertyFilter): boolean {
	return compare(pathValue(event.properties ?? {}, filter.path), filter.operator, filter.value);
}

function compareNumbers(actual: number, operator: 'gt' | 'gte' | 'lt' | 'lte' | 'equals', expected: number): boolean {
	switch (operator) {
		case 'gt':
			return actual > expected;
		case 'gte':
			return actual >= expected;
		case 'lt':
			return actual < expected;
		case 'lte':
			return actual <= expected;
		case 'equals':
			return actual === expected;
	}
}

const isMissing = (v: unknown) => v === undefined || v === null || v === '';

/**
 * A value against what a marketer typed. Text compares without regard to case; numbers as numbers
 * when both sides are numbers; a list matches when one of its elements does. A missing value
 * satisfies only the negative comparisons.
 */
export function compare(actual: unknown, operator: Comparison, expected: string): boolean {
	if (operator === 'exists') return !isMissing(actual);
	if (operator === 'notExists') return isMissing(actual);
	const negative = operator === 'notEquals' || operator === 'notContains' || operator === 'notIn';
	if (isMissing(actual)) return negative;
	if (negative) {
		const positive = operator === 'notEquals' ? 'equals' : operator === 'notContains' ? 'contains' : 'in';
		return !compare(actual, positive, expected);
	}
	if (Array.isArray(actual)) return actual.some((element) => compare(element, operator, expected));
	if (typeof actual === 'object') return false;
	const text = String(actual).toLowerCase();
	const wanted = expected.trim().toLowerCase();
	const number = typeof actual === 'number' ? actual : Number(text);
	const target = Number(wanted);
	const numeric = wanted !== '' && text !== '' && Number.isFinite(number) && Number.isFinite(target);
	switch (operator) {
		case 'equals':
			return numeric ? number === target : text === wanted;
		case 'contains':
			return text.includes(wanted);
		case 'startsWith':
			return text.startsWith(wanted);
		case 'in':
			return expected.split(',').some((option) => compare(actual, 'equals', option));
		case 'gt':
			return numeric && number > target;
		case 'gte':
			return numeric && number >= target;
		case 'lt':
			return numeric && number < target;
		case 'lte':
			return numeric && number <= target;
	}
}
