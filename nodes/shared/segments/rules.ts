import { z } from 'zod';

import { isTimeZone } from './time-zones';

/** How an attribute or an event property is compared with the value a marketer typed. */
export const COMPARISONS = [
	'equals',
	'notEquals',
	'contains',
	'notContains',
	'startsWith',
	'in',
	'notIn',
	'gt',
	'gte',
	'lt',
	'lte',
	'exists',
	'notExists',
] as const;
export type Comparison = (typeof COMPARISONS)[number];

export const NUMBER_COMPARISONS = ['gt', 'gte', 'lt', 'lte', 'equals'] as const;

/**
 * Profile attributes with a name of their own: each is read from the first of its places that
 * holds a value (traits as Segment's identify spec names them, then the person's latest event
 * context). `trait` reads any trait by its dotted path.
 */
export const ATTRIBUTES = {
	country: ['traits.country', 'traits.address.country', 'context.location.country'],
	city: ['traits.city', 'traits.address.city', 'context.location.city'],
	device: ['traits.device', 'context.device.type', 'context.userAgent'],
	language: ['traits.language', 'context.locale'],
	timezone: ['traits.timezone', 'context.timezone'],
	industry: ['traits.industry', 'traits.company.industry'],
	headcount: ['traits.employees', 'traits.headcount', 'traits.company.employee_count'],
	region: ['traits.region', 'traits.address.region', 'traits.address.state'],
	jobFunction: ['traits.job_function', 'traits.jobFunction', 'traits.title'],
	email: ['email'],
	// What follows the @ of the email: a competitor's or a webmail domain.
	emailDomain: ['email'],
	userId: ['userId'],
} as const;
export type NamedAttribute = keyof typeof ATTRIBUTES;
const ATTRIBUTE_NAMES = ['trait', ...Object.keys(ATTRIBUTES)] as [NamedAttribute | 'trait', ...Array<NamedAttribute | 'trait'>];

/** Ordered: a person's stage is the furthest one their events reached. */
export const FUNNEL_STAGES = ['none', 'category', 'product', 'cart', 'checkout', 'purchase'] as const;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];

export const CHANNELS = ['email', 'ads', 'analytics'] as const;

const comparison = z.enum(COMPARISONS);
const number = () => z.number({ invalid_type_error: 'must be a number', required_error: 'must be a number' });
const whole = () => number().int('must be a whole number');
const days = number().min(0, 'must be 0 or more');
const percent = () => number().min(0, 'must be a percentage from 0 to 100').max(100, 'must be a percentage from 0 to 100');
const name = z.string().trim().min(1, 'must not be empty');

const propertyFilter = z.object({ path: name, operator: comparison, value: z.string().default('') });

const weights = z.array(z.object({ event: name, weight: number() })).min(1, 'give at least one event and its weight');

/**
 * A profile criterion of a score: a named attribute, a trait's path, or `company.` and a trait of
 * the person's company, compared with a value.
 */
const criterion = z.object({ field: name, operator: comparison, value: z.string(), weight: number() });
export type ScoreCriterion = z.infer<typeof criterion>;

const condition = z.discriminatedUnion('type', [
	z.object({
		type: z.literal('attribute'),
		attribute: z.enum(ATTRIBUTE_NAMES),
		path: z.string().trim().default(''),
		operator: comparison,
		value: z.string().default(''),
	}),
	z.object({
		type: z.literal('behaviour'),
		event: name,
		did: z.boolean(),
		times: whole().min(1, 'must be at least 1'),
		withinDays: days,
		property: propertyFilter.optional(),
	}),
	z.object({
		type: z.literal('funnelStage'),
		operator: z.enum(['is', 'atLeast', 'below']),
		stage: z.enum(FUNNEL_STAGES),
		withinDays: days,
	}),
	z.object({
		type: z.literal('lifecycle'),
		milestone: z.enum(['firstPurchase', 'repeatBuyer', 'neverPurchased', 'newsletter']),
		withinDays: days,
	}),
	z.object({
		type: z.literal('rfm'),
		measure: z.enum(['recency', 'frequency', 'monetary']),
		operator: z.enum(NUMBER_COMPARISONS),
		value: number(),
		withinDays: days,
	}),
	z.object({
		type: z.literal('score'),
		weights,
		criteria: z.array(criterion).optional(),
		operator: z.enum(NUMBER_COMPARISONS),
		value: number(),
		withinDays: days,
	}),
	// Account (B2B): read from the company of the person's latest group call and its current people.
	z.object({ type: z.literal('accountTrait'), path: name, operator: comparison, value: z.string().default('') }),
	z.object({
		type: z.literal('accountEngagement'),
		// Empty: any tracked event or page view.
		event: z.string().trim().default(''),
		people: whole().min(1, 'must be at least 1'),
		withinDays: days,
	}),
	z.object({ type: z.literal('accountScore'), weights, operator: z.enum(NUMBER_COMPARISONS), value: number(), withinDays: days }),
	z.object({ type: z.literal('dormant'), days: days.min(1, 'must be at least 1') }),
	z.object({ type: z.literal('noOrderSinceCart') }),
	z.object({ type: z.literal('consent'), channel: z.enum(CHANNELS), explicit: z.boolean() }),
	z.object({ type: z.literal('notSuppressed') }),
	z.object({
		type: z.literal('frequencyCap'),
		channel: name,
		max: whole().min(0, 'must be 0 or more'),
		withinHours: number().positive('must be more than 0'),
	}),
	// Predictive: read from the latest fit of the BG/NBD and Gamma-Gamma models (Fit Models).
	z.object({ type: z.literal('probabilityActive'), operator: z.enum(NUMBER_COMPARISONS), percent: percent() }),
	z.object({
		type: z.literal('expectedOrders'),
		days: days.min(1, 'must be at least 1'),
		operator: z.enum(NUMBER_COMPARISONS),
		value: number().min(0, 'must be 0 or more'),
	}),
	// topPercent: the value is a share of customers, the others compare it with an amount.
	z.object({ type: z.literal('predictedValue'), operator: z.enum(['topPercent', ...NUMBER_COMPARISONS]), value: number() }),
	z.object({ type: z.literal('nextOrderPassed'), days }),
	z.object({
		type: z.literal('quietHours'),
		start: whole().min(0, 'must be an hour from 0 to 23').max(23, 'must be an hour from 0 to 23'),
		end: whole().min(0, 'must be an hour from 0 to 23').max(23, 'must be an hour from 0 to 23'),
		fallbackTimezone: z.string().refine(isTimeZone, 'is not an IANA time zone such as Europe/Paris'),
	}),
]);

export type Condition = z.infer<typeof condition>;

/** The conditions that read the predictive models' latest fit. */
export const PREDICTIVE_CONDITIONS = ['probabilityActive', 'expectedOrders', 'predictedValue', 'nextOrderPassed'] as const;

/** One condition checked alone: the rule, or each problem with the field it is about. */
export function parseCondition(input: unknown): { ok: true; condition: Condition } | { ok: false; problems: Array<{ field: string; reason: string }> } {
	const result = condition.safeParse(input);
	if (!result.success) {
		return { ok: false, problems: result.error.issues.map((issue) => ({ field: issue.path.join('.'), reason: issue.message })) };
	}
	if (result.data.type === 'attribute' && result.data.attribute === 'trait' && !result.data.path) {
		return { ok: false, problems: [{ field: 'path', reason: 'give the name of the trait, such as plan or company.plan' }] };
	}
	if (result.data.type === 'predictedValue' && result.data.operator === 'topPercent' && !(result.data.value > 0 && result.data.value <= 100)) {
		return { ok: false, problems: [{ field: 'value', reason: 'must be a percentage above 0 and up to 100, such as 20' }] };
	}
	return { ok: true, condition: result.data };
}
export type PropertyFilter = z.infer<typeof propertyFilter>;

export interface Segment {
	name: string;
	/** OR of groups; the conditions of one group must all hold (AND). No condition: everyone. */
	groups: Condition[][];
}

/**
 * Checks the segments as a whole, their conditions being checked already (parseCondition): at least
 * one, each named, no two with the same name. Names come back trimmed.
 */
export function parseSegments(segments: Segment[]): { ok: true; segments: Segment[] } | { ok: false; problems: string[] } {
	if (segments.length === 0) return { ok: false, problems: ['add at least one segment'] };
	const named = segments.map((s) => ({ ...s, name: s.name.trim() }));
	const problems = named.flatMap((s, i) => (s.name ? [] : [`segment ${i + 1}, field "name": must not be empty`]));
	if (problems.length) return { ok: false, problems };
	const names = new Set<string>();
	for (const s of named) {
		if (names.has(s.name.toLowerCase())) problems.push(`segment "${s.name}": two segments have this name`);
		names.add(s.name.toLowerCase());
	}
	return problems.length ? { ok: false, problems } : { ok: true, segments: named };
}

/** "Product Viewed: 1, Product Added: 3, Order Completed: -10" as weights, or why not. */
export function parseWeights(text: string): { ok: true; weights: Array<{ event: string; weight: number }> } | { ok: false; reason: string } {
	const weights: Array<{ event: string; weight: number }> = [];
	for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
		const match = /^(.+?)\s*[:=]\s*(-?\d+(?:\.\d+)?)$/.exec(part);
		if (!match) return { ok: false, reason: `"${part}" is not "Event Name: weight", such as "Product Added: 3"` };
		weights.push({ event: match[1].trim(), weight: Number(match[2]) });
	}
	if (weights.length === 0) return { ok: false, reason: 'give at least one "Event Name: weight"' };
	return { ok: true, weights };
}

const CRITERION_OPERATORS: Record<string, Comparison> = {
	'=': 'equals',
	'!=': 'notEquals',
	'>': 'gt',
	'>=': 'gte',
	'<': 'lt',
	'<=': 'lte',
	contains: 'contains',
	'starts with': 'startsWith',
	in: 'in',
	'not in': 'notIn',
};

/**
 * Profile criteria and their points, one a line, such as "emailDomain in rival.com, rival.io: -50"
 * or "company.employees >= 50: 10", as score criteria, or why not. Empty: none.
 */
export function parseCriteria(text: string): { ok: true; criteria: ScoreCriterion[] } | { ok: false; reason: string } {
	const criteria: ScoreCriterion[] = [];
	const operators = Object.keys(CRITERION_OPERATORS)
		.sort((x, y) => y.length - x.length)
		.join('|');
	const pattern = new RegExp(`^(\\S+)\\s+(${operators})\\s+(.+?)\\s*:\\s*(-?\\d+(?:\\.\\d+)?)$`, 'i');
	for (const line of text.split(/\n|;/).map((l) => l.trim()).filter(Boolean)) {
		const match = pattern.exec(line);
		if (!match) return { ok: false, reason: `"${line}" is not "field operator value: points", such as "jobFunction contains student: -30"` };
		criteria.push({ field: match[1], operator: CRITERION_OPERATORS[match[2].toLowerCase()], value: match[3], weight: Number(match[4]) });
	}
	return { ok: true, criteria };
}

const CRITERION_WORDS = new Map(Object.entries(CRITERION_OPERATORS).map(([word, comparison]) => [comparison, word]));

/** A criterion as it was written, without its points: "company.employees >= 50". */
export function describeCriterion(c: ScoreCriterion): string {
	return `${c.field} ${CRITERION_WORDS.get(c.operator) ?? c.operator} ${c.value}`;
}
