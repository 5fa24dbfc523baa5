import { type Condition, parseCondition, parseCriteria, parseSegments, parseWeights, type Segment } from '../segments/rules';

/** The editor's label of each rule field, so that a problem names what the marketer sees. */
const FIELD_LABELS: Record<string, Record<string, string>> = {
	attribute: { path: 'Trait', value: 'Value', operator: 'Operator', attribute: 'Attribute' },
	behaviour: { event: 'Event', times: 'At Least (Times)', withinDays: 'Within Last (Days)', 'property.path': 'Only Events Whose Property', 'property.value': 'Property Value' },
	funnelStage: { stage: 'Funnel Stage', withinDays: 'Within Last (Days)' },
	lifecycle: { withinDays: 'Reached Within Last (Days)' },
	rfm: { value: 'Number', withinDays: 'Within Last (Days)' },
	score: { weights: 'Events and Weights', value: 'Number', withinDays: 'Within Last (Days)' },
	accountTrait: { path: 'Company Trait', value: 'Value', operator: 'Operator' },
	accountEngagement: { event: 'Event', people: 'At Least (People)', withinDays: 'Within Last (Days)' },
	accountScore: { weights: 'Events and Weights', value: 'Number', withinDays: 'Within Last (Days)' },
	dormant: { days: 'Days Without Activity' },
	probabilityActive: { percent: 'Probability (%)' },
	expectedOrders: { days: 'In the Next (Days)', value: 'Number' },
	predictedValue: { value: 'Top (%) or Amount' },
	nextOrderPassed: { days: 'By at Least (Days)' },
	frequencyCap: { channel: 'Channel', max: 'At Most (Sends)', withinHours: 'Window (Hours)' },
	quietHours: { start: 'Quiet From (Hour)', end: 'Quiet Until (Hour)', fallbackTimezone: 'Time Zone When Unknown' },
};

/** The segments as the editor saves them: fixed collections of segments and their conditions. */
export type ConditionsParameter = { condition?: Array<Record<string, unknown>> } | undefined;

export interface SegmentsParameter {
	segment?: Array<{ name?: string; conditions?: ConditionsParameter }>;
}

/** One condition of the editor as the rule it describes (rules.ts checks it). */
function conditionOf(c: Record<string, unknown>, fallbackTimezone: string): Record<string, unknown> {
	const text = (key: string) => (c[key] === undefined || c[key] === null ? '' : String(c[key]));
	const number = (key: string, fallback: number) => (c[key] === undefined || c[key] === '' ? fallback : Number(c[key]));
	const type = text('conditionType') || 'attribute';
	switch (type) {
		case 'attribute':
			return { type, attribute: text('attribute') || 'country', path: text('traitPath'), operator: text('operator') || 'equals', value: text('value') };
		case 'behaviour':
			return {
				type,
				event: text('event'),
				did: text('did') !== 'didNot',
				times: number('times', 1),
				withinDays: number('withinDays', 30),
				...(text('propertyPath').trim()
					? { property: { path: text('propertyPath'), operator: text('propertyOperator') || 'equals', value: text('propertyValue') } }
					: {}),
			};
		case 'funnelStage':
			return { type, operator: text('funnelOperator') || 'is', stage: text('stage') || 'checkout', withinDays: number('withinDays', 30) };
		case 'lifecycle':
			return { type, milestone: text('milestone') || 'firstPurchase', withinDays: number('milestoneWithinDays', 0) };
		case 'rfm':
			return { type, measure: text('measure') || 'recency', operator: text('numberOperator') || 'gte', value: number('number', 0), withinDays: number('withinDays', 30) };
		case 'score':
		case 'accountScore': {
			const weights = parseWeights(text('weights'));
			const criteria = type === 'score' ? parseCriteria(text('criteria')) : undefined;
			return {
				type,
				// A bad list becomes an empty one, which the rule check reports with the list's own reason.
				weights: weights.ok ? weights.weights : [],
				...(weights.ok ? {} : { listProblem: `Events and Weights: ${weights.reason}` }),
				...(criteria && !criteria.ok ? { listProblem: `Profile Criteria and Points: ${criteria.reason}` } : {}),
				...(criteria?.ok && criteria.criteria.length ? { criteria: criteria.criteria } : {}),
				operator: text('numberOperator') || 'gte',
				value: number('number', 0),
				withinDays: number('withinDays', 30),
			};
		}
		case 'accountTrait':
			return { type, path: text('companyTrait'), operator: text('operator') || 'equals', value: text('value') };
		case 'accountEngagement':
			return { type, event: text('companyEvent'), people: number('people', 3), withinDays: number('withinDays', 30) };
		case 'dormant':
			return { type, days: number('days', 30) };
		case 'probabilityActive':
			return { type, operator: text('probabilityOperator') || 'lt', percent: number('probabilityPercent', 30) };
		case 'expectedOrders':
			return { type, days: number('forecastDays', 90), operator: text('numberOperator') || 'gte', value: number('number', 0) };
		case 'predictedValue': {
			const operator = text('valueOperator') || 'topPercent';
			return { type, operator, value: operator === 'topPercent' ? number('topPercent', 20) : number('amount', 100) };
		}
		case 'nextOrderPassed':
			return { type, days: number('overdueDays', 0) };
		case 'consent':
			return { type, channel: text('channel') || 'email', explicit: c.explicit !== false };
		case 'frequencyCap':
			return { type, channel: text('capChannel') || 'email', max: number('max', 1), withinHours: number('withinHours', 24) };
		case 'quietHours':
			return { type, start: number('quietStart', 21), end: number('quietEnd', 8), fallbackTimezone: text('fallbackTimezone').trim() || fallbackTimezone };
		default:
			return { type };
	}
}

/**
 * One editor list of conditions as condition groups, in the order of each group's first condition.
 * Problems go to `problems`, prefixed by `where` and numbered as the editor lists the conditions.
 */
function groupsOf(conditions: ConditionsParameter, fallbackTimezone: string, where: string, problems: string[]): Condition[][] {
	const groups = new Map<number, Condition[]>();
	(conditions?.condition ?? []).forEach((c, ci) => {
		const rule = conditionOf(c, fallbackTimezone);
		const at = `${where}condition ${ci + 1}`;
		const labels = FIELD_LABELS[String(rule.type)] ?? {};
		if (typeof rule.listProblem === 'string') {
			problems.push(`${at}: ${rule.listProblem}`);
			return;
		}
		const checked = parseCondition(rule);
		if (!checked.ok) {
			for (const p of checked.problems) problems.push(`${at}: ${labels[p.field] ?? (p.field || 'Condition')}: ${p.reason}`);
			return;
		}
		const group = Number(c.group ?? 1) || 1;
		groups.set(group, [...(groups.get(group) ?? []), checked.condition]);
	});
	return [...groups.values()];
}

/** The conditions of one editor list (the Profile node's segment members) as checked groups. */
export function conditionGroupsFromParameter(
	conditions: ConditionsParameter,
	fallbackTimezone: string,
): { ok: true; groups: Condition[][] } | { ok: false; problems: string[] } {
	const problems: string[] = [];
	const groups = groupsOf(conditions, fallbackTimezone, '', problems);
	return problems.length ? { ok: false, problems } : { ok: true, groups };
}

/** The editor's segments as checked rules, or the problems to show, each naming the segment and the condition. */
export function segmentsFromParameter(
	parameter: SegmentsParameter,
	fallbackTimezone: string,
): { ok: true; segments: Segment[] } | { ok: false; problems: string[] } {
	const problems: string[] = [];
	const segments = (parameter.segment ?? []).map((s, si) => ({
		name: s.name ?? '',
		groups: groupsOf(s.conditions, fallbackTimezone, `segment ${si + 1}${s.name ? ` ("${s.name}")` : ''}, `, problems),
	}));
	if (problems.length) return { ok: false, problems };
	return parseSegments(segments);
}
