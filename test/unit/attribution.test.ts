import { DEFAULT_CHANNEL_RULES, parseChannelRules, touchOf } from '../../nodes/shared/attribution/channels.ts';
import { creditRows, pathOf, type Windows } from '../../nodes/shared/attribution/credit.ts';
import { fitMarkov } from '../../nodes/shared/attribution/markov.ts';
import { DIRECT, MODELS, type ModelName, shares, type Touch } from '../../nodes/shared/attribution/models.ts';
import { buildReport } from '../../nodes/shared/attribution/report.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T = Date.parse('2026-11-20T12:00:00Z');
const touch = (channel: string, daysBefore: number, interaction: Touch['interaction'] = 'click'): Touch => ({ at: T - daysBefore * DAY, channel, campaign: null, interaction });
const options = { halfLifeMs: 7 * DAY };
const WINDOWS: Windows = { lookbackMs: 30 * DAY, clickWindowMs: 30 * DAY, viewWindowMs: 1 * DAY };
const close = (actual: number[], expected: number[]) => {
	expect(actual).toHaveLength(expected.length);
	actual.forEach((a, i) => expect(a).toBeCloseTo(expected[i], 12));
};

describe('attribution models, worked by hand', () => {
	// Path: Email (10 days before), Paid Search (7 days), Direct (3 days), Display (0 days).
	const path = [touch('Email', 10), touch('Paid Search', 7), touch(DIRECT, 3), touch('Display', 0)];

	it('first touch, last touch: 100 % to one end', () => {
		close(shares('firstTouch', path, T, options), [1, 0, 0, 0]);
		close(shares('lastTouch', path, T, options), [0, 0, 0, 1]);
	});

	it('last non-direct skips direct touches at the end; an all-direct path credits its last touch', () => {
		const endsDirect = [touch('Email', 2), touch(DIRECT, 1), touch(DIRECT, 0)];
		close(shares('lastNonDirect', endsDirect, T, options), [1, 0, 0]);
		close(shares('lastNonDirect', [touch(DIRECT, 2), touch(DIRECT, 1)], T, options), [0, 1]);
		close(shares('lastNonDirect', path, T, options), [0, 0, 0, 1]);
	});

	it('linear: 1/n each (n = 4: 0.25)', () => {
		close(shares('linear', path, T, options), [0.25, 0.25, 0.25, 0.25]);
	});

	it('position-based: 100 % for one touch, 50/50 for two, 40/20/20/40 for four, 40/6.67×3/40 for five', () => {
		close(shares('positionBased', [touch('Email', 1)], T, options), [1]);
		close(shares('positionBased', [touch('Email', 1), touch('Display', 0)], T, options), [0.5, 0.5]);
		close(shares('positionBased', path, T, options), [0.4, 0.1, 0.1, 0.4]);
		close(shares('positionBased', [...path, touch('Email', 0)], T, options), [0.4, 0.2 / 3, 0.2 / 3, 0.2 / 3, 0.4]);
	});

	it('time decay, half-life 7 days: weights 2^(-10/7), 2^(-1), 2^(-3/7), 1, normalised', () => {
		// Computed apart, with Python: 2^(-10/7) = 0.3714985722842371, 2^(-3/7) = 0.7429971445684742,
		// sum with 0.5 and 1: 2.614495716852711.
		const w = [0.3714985722842371, 0.5, 0.7429971445684742, 1];
		const sum = 2.614495716852711;
		close(shares('timeDecay', path, T, options), w.map((x) => x / sum));
		// Touches at the same time get the same weight.
		close(shares('timeDecay', [touch('Email', 2), touch('Display', 2)], T, options), [0.5, 0.5]);
		// Old touches and a short half-life: 2^(-4000) underflows to 0, the shares must not become 0/0.
		// Relative to the newest touch (40 days): 2^(-1/0.01) = 2^-100 and 1, normalised.
		const old = shares('timeDecay', [touch('Email', 41), touch('Display', 40)], T, { halfLifeMs: 0.01 * DAY });
		close(old, [2 ** -100 / (1 + 2 ** -100), 1 / (1 + 2 ** -100)]);
	});

	it('a single touch gets everything under every model', () => {
		const removalEffects = new Map([['Email', 0.3]]);
		for (const model of MODELS) close(shares(model, [touch('Email', 1)], T, { ...options, removalEffects }), [1]);
	});

	it('touches outside the lookback, the click window or the view window do not count; none left: Direct at the conversion', () => {
		const touches = [touch('Email', 31), touch('Paid Search', 29), touch('Email', 2, 'view'), touch('Display', 0.5, 'view'), { ...touch('Email', 0), at: T + 1000 }];
		expect(pathOf(touches, T, WINDOWS).map((t) => t.channel)).toEqual(['Paid Search', 'Display']);
		expect(pathOf([touch('Email', 40)], T, WINDOWS)).toEqual([{ at: T, channel: DIRECT, campaign: null, interaction: 'click' }]);
		// A touch exactly at the window's edge counts.
		expect(pathOf([touch('Paid Search', 30)], T, WINDOWS).map((t) => t.channel)).toEqual(['Paid Search']);
	});

	it('credit rows: per model, the revenues of a conversion sum to its revenue', () => {
		const removalEffects = new Map([
			['Email', 0.5],
			['Paid Search', 1],
			['Display', 0.25],
		]);
		const rows = creditRows({ orderId: 'o-1', at: T, revenue: 99.9 }, path, MODELS, { ...options, removalEffects });
		for (const model of MODELS) {
			const sum = rows.filter((r) => r.model === model).reduce((s, r) => s + r.revenue, 0);
			expect(Math.abs(sum - 99.9)).toBeLessThan(1e-9);
		}
		// Markov: Email 0.5, Paid Search 1, Direct 0 (not in the fit), Display 0.25: sum 1.75.
		expect(rows.filter((r) => r.model === 'markov').map((r) => [r.channel, r.share])).toEqual([
			['Email', 0.5 / 1.75],
			['Paid Search', 1 / 1.75],
			['Display', 0.25 / 1.75],
		]);
	});
});

describe('the Markov model against a worked example', () => {
	// Journeys: A → B → conversion; A → null; B → conversion.
	// Start: A 2/3, B 1/3. A: B 1/2, null 1/2. B: conversion 1.
	// P(conv) = 2/3 · 1/2 · 1 + 1/3 · 1 = 2/3.
	// Without A: 1/3 · 1 = 1/3, RE(A) = 1 − (1/3)/(2/3) = 1/2. Without B: 0, RE(B) = 1.
	// Shares: A 0.5/1.5 = 1/3, B 1/1.5 = 2/3.
	const journeys = [
		{ channels: ['A', 'B'], converted: true },
		{ channels: ['A'], converted: false },
		{ channels: ['B'], converted: true },
	];

	it('gives the conversion probability and removal effects computed by hand', () => {
		const fit = fitMarkov(journeys);
		expect(fit.conversionProbability).toBeCloseTo(2 / 3, 12);
		expect(fit.removalEffects.get('A')).toBeCloseTo(0.5, 12);
		expect(fit.removalEffects.get('B')).toBeCloseTo(1, 12);
		const path = [touch('A', 2), touch('B', 1)];
		close(shares('markov', path, T, { ...options, removalEffects: fit.removalEffects }), [1 / 3, 2 / 3]);
	});

	it('a repeated channel does not change the chain; nothing converting gives no effect', () => {
		const repeated = fitMarkov([{ channels: ['A', 'A', 'B', 'B'], converted: true }, ...journeys.slice(1)]);
		expect(repeated.removalEffects.get('A')).toBeCloseTo(0.5, 12);
		expect(fitMarkov([{ channels: ['A'], converted: false }]).removalEffects.get('A')).toBe(0);
	});

	it('three channels with a loop: A → B → A → conv, C → null, B → conv (solved by hand)', () => {
		// Start: A 1/3, C 1/3, B 1/3. A: B 1/2 (A→B), conversion 1/2 (A→conv). B: A 1/2, conv 1/2. C: null 1.
		// p_A = 1/2 p_B + 1/2; p_B = 1/2 p_A + 1/2 → p_A = p_B = 1. P = 1/3 + 0 + 1/3 = 2/3.
		// Without A: p_B = 1/2, P = 1/3 · 1/2 = 1/6, RE(A) = 1 − (1/6)/(2/3) = 3/4; likewise RE(B) = 3/4; RE(C) = 0.
		const fit = fitMarkov([
			{ channels: ['A', 'B', 'A'], converted: true },
			{ channels: ['C'], converted: false },
			{ channels: ['B'], converted: true },
		]);
		expect(fit.conversionProbability).toBeCloseTo(2 / 3, 12);
		expect(fit.removalEffects.get('A')).toBeCloseTo(0.75, 12);
		expect(fit.removalEffects.get('B')).toBeCloseTo(0.75, 12);
		expect(fit.removalEffects.get('C')).toBe(0);
	});
});

describe('property: every model credits each conversion its whole revenue', () => {
	it('holds for 2,000 random paths (within 1e-9)', () => {
		let seed = 42;
		const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
		const channels = ['Email', 'Paid Search', 'Display', DIRECT, 'Paid Social'];
		const journeys = Array.from({ length: 500 }, () => ({ channels: Array.from({ length: 1 + Math.floor(random() * 5) }, () => channels[Math.floor(random() * 5)]), converted: random() < 0.4 }));
		const { removalEffects } = fitMarkov(journeys);
		for (let k = 0; k < 2000; k++) {
			const n = 1 + Math.floor(random() * 8);
			const path = Array.from({ length: n }, () => touch(channels[Math.floor(random() * 5)], Math.floor(random() * 3) * 2.5, random() < 0.2 ? 'view' : 'click')).sort((a, b) => a.at - b.at);
			const revenue = Math.round(random() * 100_000) / 100;
			const rows = creditRows({ orderId: `o-${k}`, at: T, revenue }, path, MODELS, { ...options, removalEffects });
			for (const model of MODELS as readonly ModelName[]) {
				const sum = rows.filter((r) => r.model === model).reduce((s, r) => s + r.revenue, 0);
				expect(Math.abs(sum - revenue)).toBeLessThan(1e-9);
			}
		}
	});
});

describe('channel rules', () => {
	const rules = parseChannelRules(DEFAULT_CHANNEL_RULES);
	const stored = (fields: Partial<Parameters<typeof touchOf>[0]>) => touchOf({ kind: 'visit', channel: null, source: null, medium: null, campaign: null, clickId: null, at: T, ...fields }, rules);

	it('maps click IDs, kinds and UTM mediums; a logged channel wins; nothing known is Direct, anything else Other', () => {
		expect(stored({ clickId: 'gclid:abc' })).toMatchObject({ channel: 'Paid Search', interaction: 'click' });
		expect(stored({ clickId: 'fbclid:abc', medium: 'email' }).channel).toBe('Paid Social');
		expect(stored({ clickId: 'rt_cid:0123' }).channel).toBe('Email');
		expect(stored({ kind: 'email_sent', campaign: 'cart-recovery' })).toMatchObject({ channel: 'Email', interaction: 'view', campaign: 'cart-recovery' });
		expect(stored({ source: 'google', medium: 'CPC' }).channel).toBe('Paid Search');
		expect(stored({ source: 'newsletter-partner' }).channel).toBe('Other');
		expect(stored({}).channel).toBe(DIRECT);
		expect(stored({ channel: 'Podcast', clickId: 'gclid:abc' }).channel).toBe('Podcast');
		// ESP Send records its sends with channel "email": the same channel as the rules' Email.
		expect(stored({ kind: 'email_sent', channel: 'email' }).channel).toBe('Email');
	});

	it('editable: the first matching line wins; a bad line is named', () => {
		const custom = parseChannelRules('# ours\nsource=google: Google\nclick=gclid: Paid Search');
		expect(touchOf({ kind: 'visit', channel: null, source: 'Google', medium: 'cpc', campaign: null, clickId: 'gclid:x', at: T }, custom).channel).toBe('Google');
		expect(() => parseChannelRules('click gclid Paid Search')).toThrow('Channel rules, line 1: "click gclid Paid Search" is not field=value: Channel');
		expect(() => parseChannelRules('\nreferrer=x: Y')).toThrow('Channel rules, line 2: "referrer" is not one of click, source, medium, campaign, kind');
	});
});

describe('the report, worked by hand', () => {
	const rules = parseChannelRules(DEFAULT_CHANNEL_RULES);
	const at = (hoursBefore: number) => T - hoursBefore * HOUR;
	const visit = (fields: Partial<Parameters<typeof touchOf>[0]>) => ({ kind: 'visit', channel: null, source: null, medium: null, campaign: null, clickId: null, at: T, ...fields });
	const input = {
		touchpoints: new Map([
			// p1: a paid-search click 2 days before, the cart email 12 hours before (a view, inside its 1-day window).
			['p1', [visit({ clickId: 'gclid:1', at: at(48) }), visit({ kind: 'email_sent', campaign: 'cart-recovery', at: at(12) })]],
			// p3: a paid-search click, then an order refunded in full.
			['p3', [visit({ clickId: 'gclid:3', at: at(5) })]],
			// p4: a display click, no order (a journey for the Markov model).
			['p4', [visit({ medium: 'display', source: 'criteo', at: at(30) })]],
		]),
		conversions: [
			{ orderId: 'o1', profileId: 'p1', at: T, revenue: 100, refunded: 0, status: 'completed' },
			// p2 has no touch: Direct.
			{ orderId: 'o2', profileId: 'p2', at: T, revenue: 50, refunded: 0, status: 'completed' },
			{ orderId: 'o3', profileId: 'p3', at: T, revenue: 80, refunded: 80, status: 'refunded' },
			// A free order, then cancelled: no conversion either.
			{ orderId: 'o5', profileId: 'p2', at: T, revenue: 0, refunded: 0, status: 'cancelled' },
		],
		arms: [
			{ campaign: 'cart-recovery', arm: 'treated' as const, members: 900, converters: 90, revenue: 9000 },
			{ campaign: 'cart-recovery', arm: 'holdout' as const, members: 100, converters: 5, revenue: 500 },
		],
	};
	const report = buildReport(input, { models: ['firstTouch', 'lastTouch', 'linear', 'markov'], windows: WINDOWS, halfLifeMs: 7 * DAY, rules, topPaths: 10 });
	const cells = (model: string) => report.byChannel.filter((r) => r.model === model).map((r) => [r.channel, r.campaign, r.conversions, r.revenue]);

	it('credits by model: the refunded order takes its credit back', () => {
		expect([report.conversions, report.revenue]).toEqual([2, 150]);
		expect(cells('lastTouch')).toEqual([
			['Email', 'cart-recovery', 1, 100],
			['Direct', '', 1, 50],
		]);
		expect(cells('firstTouch')).toEqual([
			['Paid Search', '', 1, 100],
			['Direct', '', 1, 50],
		]);
		expect(cells('linear')).toEqual([
			['Direct', '', 1, 50],
			['Email', 'cart-recovery', 0.5, 50],
			['Paid Search', '', 0.5, 50],
		]);
		// Markov, every model: the credits add up to the revenue kept.
		for (const model of ['firstTouch', 'lastTouch', 'linear', 'markov']) {
			expect(report.byChannel.filter((r) => r.model === model).reduce((s, r) => s + r.revenue, 0)).toBeCloseTo(150, 9);
		}
	});

	it('paths, time to conversion and path length count the conversions kept', () => {
		expect(report.topPaths).toEqual([
			{ path: 'Paid Search > Email', conversions: 1, revenue: 100 },
			{ path: 'Direct', conversions: 1, revenue: 50 },
		]);
		// o2 had no touch: credited to Direct, but neither timed nor counted as a one-touch path.
		expect(report.timeToConversion).toEqual([
			{ bucket: 'under 1 hour', conversions: 0 },
			{ bucket: '1 to 24 hours', conversions: 0 },
			{ bucket: '1 to 7 days', conversions: 1 },
			{ bucket: '7 to 30 days', conversions: 0 },
			{ bucket: '30 days or more', conversions: 0 },
			{ bucket: 'no touch before', conversions: 1 },
		]);
		expect(report.pathLength.filter((l) => l.conversions > 0)).toEqual([
			{ touches: '0', conversions: 1 },
			{ touches: '2', conversions: 1 },
		]);
	});

	it('holdout lift: 10 % treated against 5 % held out, with a 95 % interval of the difference', () => {
		// se = sqrt(0.1·0.9/900 + 0.05·0.95/100) = 0.0239791576…; 0.05 ± 1.959964·se (computed apart, with Python).
		const [lift] = report.lift;
		expect(lift).toMatchObject({ campaign: 'cart-recovery', treated: 900, holdout: 100, treatedRate: 0.1, holdoutRate: 0.05 });
		expect(lift.lift).toBeCloseTo(1, 12);
		expect(lift.differenceLow).toBeCloseTo(0.003001714691926033, 12);
		expect(lift.differenceHigh).toBeCloseTo(0.09699828530807397, 12);
		expect(lift.incrementalConversions).toBeCloseTo(45, 9);
		expect(lift.incrementalRevenue).toBeCloseTo(4500, 9);
	});
});
