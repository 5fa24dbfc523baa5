import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, NodeOperationError } from 'n8n-workflow';

import { offThreadResult } from '../../../shared/offthread/run';
import { DEFAULT_VALUE_SETTINGS, type PredictiveModel, readingOf, type ValueSettings } from '../../../shared/predictive/figures';
import type { RetargetingStore } from '../../../shared/store/store';

const show = { show: { resource: ['prediction'], operation: ['fit'] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Options',
		name: 'fitOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show,
		options: [
			{
				displayName: 'Annual Discount Rate (%)',
				name: 'annualDiscountPercent',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 100 },
				default: 0,
				description: 'How much less money a year from now is worth than money today; later orders count for less in the predicted value. 0: no discount.',
			},
			{
				displayName: 'Margin (%)',
				name: 'marginPercent',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 100 },
				default: 100,
				description: 'The share of an order that is profit: the predicted value is then profit, not revenue. 100: revenue.',
			},
			{
				displayName: 'Predicted Value Horizon (Days)',
				name: 'horizonDays',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 365,
				description: 'How far ahead the predicted value counts the orders a customer is expected to place',
			},
		],
	},
];

/** The problem with the value settings, naming the option, or undefined when they can be used. */
export function valueSettingsProblem(settings: ValueSettings): string | undefined {
	const { horizonDays, marginPercent, annualDiscountPercent } = settings;
	if (!(Number.isFinite(horizonDays) && horizonDays >= 1)) return `Predicted Value Horizon (Days) must be at least 1, not ${horizonDays}`;
	if (!(Number.isFinite(marginPercent) && marginPercent >= 0 && marginPercent <= 100)) return `Margin (%) must be from 0 to 100, not ${marginPercent}`;
	if (!(Number.isFinite(annualDiscountPercent) && annualDiscountPercent >= 0 && annualDiscountPercent <= 100)) {
		return `Annual Discount Rate (%) must be from 0 to 100, not ${annualDiscountPercent}`;
	}
	return undefined;
}

/** What the node outputs for a fit: the models' parameters and quality, and a plain reading. */
export function fitOutput(model: PredictiveModel): Record<string, unknown> {
	const q = model.valueQuantiles;
	const at = (share: number) => Math.round(q[Math.round(share * (q.length - 1))] * 100) / 100;
	const report = ({ parameters, logLikelihood, iterations, converged }: PredictiveModel['bgNbd'] | PredictiveModel['gammaGamma']) => ({ parameters, logLikelihood, iterations, converged });
	return {
		fittedAt: model.fittedAt,
		customers: model.customers,
		repeatCustomers: model.repeatCustomers,
		likelyActivePercent: Math.round(1000 * model.likelyActiveShare) / 10,
		typicalDaysBetweenOrders: Math.round(model.bgNbd.parameters.alpha / model.bgNbd.parameters.r),
		predictedValue: { ...model.settings, median: at(0.5), top20PercentFrom: at(0.8), top5PercentFrom: at(0.95) },
		bgNbd: report(model.bgNbd),
		gammaGamma: { ...report(model.gammaGamma), repeatCustomersRead: model.gammaGamma.customers },
		reading: readingOf(model),
	};
}

/**
 * Run by the router once per execution, for item 0: fits both models on every customer's orders
 * in a worker thread (minutes of processor time for millions of customers must not hold n8n).
 */
export async function execute(this: IExecuteFunctions, store: RetargetingStore, i: number): Promise<INodeExecutionData[]> {
	const settings: ValueSettings = {
		horizonDays: Number(this.getNodeParameter('fitOptions.horizonDays', i, DEFAULT_VALUE_SETTINGS.horizonDays)),
		marginPercent: Number(this.getNodeParameter('fitOptions.marginPercent', i, DEFAULT_VALUE_SETTINGS.marginPercent)),
		annualDiscountPercent: Number(this.getNodeParameter('fitOptions.annualDiscountPercent', i, DEFAULT_VALUE_SETTINGS.annualDiscountPercent)),
	};
	const problem = valueSettingsProblem(settings);
	if (problem) throw new NodeOperationError(this.getNode(), problem, { itemIndex: i });
	let model: PredictiveModel;
	try {
		model = await offThreadResult(store.driver, 'fitPredictiveModels', { settings, now: new Date() });
	} catch (error) {
		throw new NodeOperationError(this.getNode(), `The models cannot be fitted: ${(error as Error).message}`, {
			itemIndex: i,
			description:
				'Fit Models learns from the Order Completed events in the store (net of refunds and cancellations): it needs customers, some of whom ordered more than once. The predictive conditions keep using the previous fit, if there is one.',
		});
	}
	return [{ json: fitOutput(model) as IDataObject, pairedItem: { item: i } }];
}
