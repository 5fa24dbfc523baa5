/** One conversion's path and its credit rows under each model. */
import { DIRECT, type ModelName, type ModelOptions, shares, type Touch } from './models';

export interface Windows {
	/** Touches older than this before the conversion never count. */
	lookbackMs: number;
	/** Clicks (visits from links and ads) count this long. */
	clickWindowMs: number;
	/** Views (emails sent or opened, ads seen) count this long. */
	viewWindowMs: number;
}

export interface Conversion {
	orderId: string;
	at: number;
	revenue: number;
}

export interface CreditRow {
	orderId: string;
	model: ModelName;
	channel: string;
	campaign: string | null;
	touchAt: number;
	/** The touch's position on the path, from 1. */
	position: number;
	share: number;
	revenue: number;
}

/**
 * The touches that count for a conversion at `at`, in time order: before it, inside the lookback
 * and inside their kind's window. `touches` must be in time order. None: one direct touch at the
 * conversion, so that every conversion is credited somewhere.
 */
export function pathOf(touches: readonly Touch[], at: number, windows: Windows): Touch[] {
	const path = touchesInWindows(touches, at, windows);
	return path.length ? path : [{ at, channel: DIRECT, campaign: null, interaction: 'click' }];
}

/** The touches that count for a conversion at `at`, without the stand-in direct touch. */
export function touchesInWindows(touches: readonly Touch[], at: number, windows: Windows): Touch[] {
	return touches.filter((t) => {
		const age = at - t.at;
		return age >= 0 && age <= windows.lookbackMs && age <= (t.interaction === 'click' ? windows.clickWindowMs : windows.viewWindowMs);
	});
}

/** The credit rows of a conversion under each model: per model, the touches' revenues sum to its revenue. */
export function creditRows(conversion: Conversion, path: readonly Touch[], models: readonly ModelName[], options: ModelOptions): CreditRow[] {
	const rows: CreditRow[] = [];
	for (const model of models) {
		shares(model, path, conversion.at, options).forEach((share, i) => {
			if (share === 0) return;
			const touch = path[i];
			rows.push({ orderId: conversion.orderId, model, channel: touch.channel, campaign: touch.campaign, touchAt: touch.at, position: i + 1, share, revenue: share * conversion.revenue });
		});
	}
	return rows;
}
