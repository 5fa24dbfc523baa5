import { CustomerPrediction, fitModels, historiesOf, type PredictiveModel, type ValueSettings } from '../predictive/figures';
import { NotEnoughDataError } from '../predictive/model';
import type { SqlDriver } from './driver';
import { customerOrderPages, netOrdersOf } from './orders';
import { json, parsed } from './sql';

/** A predictive condition read before any fit: the message names the fix. */
export class NoFitError extends Error {
	override readonly name = 'NoFitError';

	constructor() {
		super(
			'The predictive models have not been fitted yet: add a Retargeting Profile node with Prediction → Fit Models and run it once ' +
				'(the reactivation workflow runs it every day before it selects people), then run this segment again.',
		);
	}
}

/**
 * Fits both models on every customer's net orders up to `now` and keeps the fit, which every
 * predictive condition then reads until the next. Reads the orders a page of customers at a time;
 * run it off n8n's thread (the fitPredictiveModels job).
 */
export async function fitAndKeep(db: SqlDriver, settings: ValueSettings, now: Date): Promise<PredictiveModel> {
	const histories = [];
	for await (const page of customerOrderPages(db)) {
		for (const orders of page.values()) {
			const history = historiesOf(orders, now.getTime());
			if (history) histories.push(history);
		}
	}
	if (histories.length === 0) {
		throw new NotEnoughDataError('The store has no orders to learn from yet: the models read the Order Completed events, less the cancelled and fully refunded orders.', {
			needed: 2,
			found: 0,
			what: 'customers',
		});
	}
	const model = fitModels(histories, settings, now.getTime());
	await db.run('INSERT INTO rt_predictive_fits (fitted_at, customers, bg_nbd, gamma_gamma, settings, ranking) VALUES (?, ?, ?, ?, ?, ?)', [
		model.fittedAt,
		model.customers,
		json(model.bgNbd),
		json(model.gammaGamma),
		json(model.settings),
		json({ repeatCustomers: model.repeatCustomers, likelyActiveShare: model.likelyActiveShare, valueQuantiles: model.valueQuantiles }),
	]);
	return model;
}

/** The latest fit, or undefined before the first. */
export async function latestFit(db: SqlDriver): Promise<PredictiveModel | undefined> {
	const [row] = await db.all<{ fitted_at: string; customers: number; bg_nbd: unknown; gamma_gamma: unknown; settings: unknown; ranking: unknown }>(
		'SELECT fitted_at, customers, bg_nbd, gamma_gamma, settings, ranking FROM rt_predictive_fits ORDER BY fitted_at DESC, id DESC LIMIT 1',
	);
	if (!row) return undefined;
	const ranking = parsed<Pick<PredictiveModel, 'repeatCustomers' | 'likelyActiveShare' | 'valueQuantiles'>>(row.ranking);
	return {
		fittedAt: row.fitted_at,
		customers: Number(row.customers),
		bgNbd: parsed(row.bg_nbd),
		gammaGamma: parsed(row.gamma_gamma),
		settings: parsed(row.settings),
		...ranking,
	};
}

/**
 * A person's figures under the latest fit, from their orders at `now`: null before the first fit or
 * for someone who never ordered (the models say nothing about them).
 */
export async function predictionOf(db: SqlDriver, profileId: string, now: number): Promise<Record<string, unknown> | null> {
	const model = await latestFit(db);
	if (!model) return null;
	const orders = (await netOrdersOf(db, [profileId])).get(profileId) ?? [];
	return CustomerPrediction.of(model, orders, now)?.summary() ?? null;
}
