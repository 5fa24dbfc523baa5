import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, NodeOperationError } from 'n8n-workflow';

import { type StoredTouchpoint, touchOf } from '../../shared/attribution/channels';
import { creditRows, pathOf } from '../../shared/attribution/credit';
import { MODEL_LABELS } from '../../shared/attribution/models';
import { netRevenue } from '../../shared/attribution/report';
import type { SqlDriver } from '../../shared/store/driver';
import { recordConversions, touchpointsOf } from '../../shared/store/attribution';
import { offThreadResult } from '../../shared/offthread/run';
import type { RetargetingStore } from '../../shared/store/store';
import { type AttributionSettings, attributionSettings, modelsProperty, peopleOf, timeOf } from './settings';

const show = { show: { operation: ['logConversion'] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Order ID',
		name: 'orderId',
		type: 'string',
		default: '={{ $json.properties?.order_id ?? $json.order_id }}',
		required: true,
		displayOptions: show,
		description: 'Conversions are counted once per order ID: logging one again returns its credit without counting it twice',
	},
	{
		displayName: 'Revenue',
		name: 'revenue',
		type: 'string',
		default: '={{ $json.properties?.revenue ?? $json.properties?.total ?? 0 }}',
		displayOptions: show,
		description: 'The order value, a number of 0 or more',
	},
	{ displayName: 'Currency', name: 'currency', type: 'string', default: '={{ $json.properties?.currency ?? "" }}', displayOptions: show },
	{
		displayName: 'Occurred At',
		name: 'occurredAt',
		type: 'string',
		default: '={{ $json.timestamp ?? "" }}',
		displayOptions: show,
		description: 'When the order was placed. Empty: now.',
	},
	modelsProperty('logConversion'),
];

/** The Markov fit of a store over a period, reused for ten minutes: fitting reads every journey. */
const markovFits = new WeakMap<SqlDriver, { key: string; at: number; effects: Map<string, number> }>();
const FIT_TTL_MS = 10 * 60_000;

async function removalEffects(db: SqlDriver, settings: AttributionSettings, now: Date): Promise<Map<string, number>> {
	const key = JSON.stringify([settings.windows, settings.rules.map((r) => [r.field, [...r.values], r.channel])]);
	const cached = markovFits.get(db);
	if (cached && cached.key === key && now.getTime() - cached.at < FIT_TTL_MS) return cached.effects;
	// Fitting reads every journey of the lookback: done in a worker thread.
	const effects = await offThreadResult(db, 'removalEffects', { now, windows: settings.windows, rules: settings.rules });
	markovFits.set(db, { key, at: now.getTime(), effects });
	return effects;
}

/**
 * Records each item's conversion (once per order ID) and returns its credit rows under each model:
 * one item a row, paired with the conversion's item.
 */
export async function execute(this: IExecuteFunctions, items: INodeExecutionData[], store: RetargetingStore, options: IDataObject): Promise<INodeExecutionData[]> {
	const settings = attributionSettings(this, options);
	const personOf = await peopleOf(this, items, store);
	const wanted: Array<{ index: number; orderId: string; profileId: string; revenue: number; currency: string | null; at: Date }> = [];
	const failed = new Map<number, string>();
	items.forEach((_item, i) => {
		try {
			const profileId = personOf(i);
			const orderId = String(this.getNodeParameter('orderId', i, '') ?? '').trim();
			if (!orderId) throw new NodeOperationError(this.getNode(), 'Order ID: must not be empty', { itemIndex: i, description: 'Map the order ID of the item, such as {{ $json.properties.order_id }}.' });
			const revenue = Number(String(this.getNodeParameter('revenue', i, '0') ?? '').trim() || 0);
			if (!Number.isFinite(revenue) || revenue < 0) throw new NodeOperationError(this.getNode(), `Revenue: "${String(this.getNodeParameter('revenue', i, ''))}" is not an amount of 0 or more`, { itemIndex: i });
			const currency = String(this.getNodeParameter('currency', i, '') ?? '').trim() || null;
			wanted.push({ index: i, orderId, profileId, revenue, currency, at: timeOf(this, this.getNodeParameter('occurredAt', i, ''), 'Occurred At', i) });
		} catch (error) {
			if (!this.continueOnFail()) throw error instanceof NodeOperationError ? error : new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
			failed.set(i, (error as Error).message);
		}
	});
	const stored = await recordConversions(store.driver, wanted);
	// The stored record's person and time: an order logged before keeps the ones it was stored with.
	const earliest = stored.reduce((min, c) => Math.min(min, c.at), Infinity);
	const touchpoints = stored.length ? await touchpointsOf(store.driver, [...new Set(stored.map((c) => c.profileId))], new Date(earliest - settings.windows.lookbackMs)) : new Map();
	const effects = settings.models.includes('markov') ? await removalEffects(store.driver, settings, new Date()) : undefined;

	const out: INodeExecutionData[] = [];
	const byIndex = new Map(wanted.map((w, k) => [w.index, { wanted: w, conversion: stored[k] }]));
	items.forEach((item, i) => {
		const error = failed.get(i);
		if (error !== undefined) return void out.push({ json: { ...item.json, error }, pairedItem: { item: i } });
		const { conversion, wanted: asked } = byIndex.get(i)!;
		const currency = asked.currency;
		const touches = (touchpoints.get(conversion.profileId) ?? []).map((t: StoredTouchpoint) => touchOf(t, settings.rules));
		const net = netRevenue(conversion);
		const path = pathOf(touches, conversion.at, settings.windows);
		for (const row of creditRows({ orderId: conversion.orderId, at: conversion.at, revenue: net }, path, settings.models, { halfLifeMs: settings.halfLifeMs, removalEffects: effects })) {
			out.push({
				json: {
					orderId: row.orderId,
					profileId: conversion.profileId,
					duplicate: conversion.duplicate,
					model: row.model,
					modelName: MODEL_LABELS[row.model],
					channel: row.channel,
					campaign: row.campaign,
					position: row.position,
					pathLength: path.length,
					touchAt: new Date(row.touchAt).toISOString(),
					share: row.share,
					revenue: row.revenue,
					currency,
				},
				pairedItem: { item: i },
			});
		}
	});
	return out;
}
