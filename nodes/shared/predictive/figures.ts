/**
 * From a customer's orders to what the predictive segments and the Profile node show: their
 * histories as the models read them, a stored fit of both models, and each person's figures
 * computed from that fit and their orders at the time they are asked for.
 */
import { expectedPurchases, fitBgNbd, probabilityAlive } from './bg-nbd';
import { customerValue, fitGammaGamma } from './gamma-gamma';
import type { BgNbdParameters, FitReport, GammaGammaParameters, PurchaseHistory, SpendHistory } from './model';

const DAY_MS = 86_400_000;

/** Predicted values kept at every 0.1 % of customers, so that "top N %" is a lookup. */
const QUANTILE_STEPS = 1000;

/** An order as the models read it: when (ms) and what it earned, net of refunds. */
export interface Order {
	at: number;
	revenue: number;
}

/** What the predicted value counts: over how many days, the margin, the discount. */
export interface ValueSettings {
	horizonDays: number;
	/** The share of revenue that is profit, 0 to 100 (100: the value is revenue). */
	marginPercent: number;
	annualDiscountPercent: number;
}

export const DEFAULT_VALUE_SETTINGS: ValueSettings = { horizonDays: 365, marginPercent: 100, annualDiscountPercent: 0 };

/** A fit of both models on every customer's orders, and what segments need to rank people by it. */
export interface PredictiveModel {
	fittedAt: string;
	bgNbd: FitReport<BgNbdParameters>;
	gammaGamma: FitReport<GammaGammaParameters>;
	settings: ValueSettings;
	/** Customers with at least one order, and those with two or more. */
	customers: number;
	repeatCustomers: number;
	/** The share of customers more likely active than not at the fit. */
	likelyActiveShare: number;
	/** The predicted value below which each 0.1 % of customers fall at the fit, lowest first. */
	valueQuantiles: number[];
}

/**
 * A customer's histories at `now`, in whole days as lifetimes reads transactions: a purchase is a
 * day with orders (UTC), worth their total, so that an order split in two is not a repeat
 * purchase; times run from the day of the first purchase. Orders after `now` are not yet history;
 * none at all: not a customer. `orders` are oldest first.
 */
export function historiesOf(orders: readonly Order[], now: number): { purchase: PurchaseHistory; spend: SpendHistory; lastOrderAt: number } | undefined {
	const days = new Map<number, number>();
	let lastOrderAt = -Infinity;
	for (const o of orders) {
		if (o.at > now) break;
		const day = Math.floor(o.at / DAY_MS);
		days.set(day, (days.get(day) ?? 0) + o.revenue);
		lastOrderAt = o.at;
	}
	if (days.size === 0) return undefined;
	const [first, ...repeats] = [...days.keys()];
	const x = repeats.length;
	const repeatRevenue = repeats.reduce((sum, day) => sum + days.get(day)!, 0);
	return {
		purchase: { x, tx: x ? repeats[x - 1] - first : 0, T: Math.floor(now / DAY_MS) - first },
		// Gamma-Gamma reads the repeat purchases only: the first is often made at a different price (a welcome offer).
		spend: { x, mx: x ? repeatRevenue / x : 0 },
		lastOrderAt,
	};
}

/**
 * Fits BG/NBD on every customer's purchases and Gamma-Gamma on the repeat buyers' spend, then
 * ranks the customers by predicted value. Throws the models' NotEnoughDataError, which names what
 * is missing.
 */
export function fitModels(histories: ReadonlyArray<{ purchase: PurchaseHistory; spend: SpendHistory }>, settings: ValueSettings, now: number): PredictiveModel {
	const bgNbd = fitBgNbd(histories.map((h) => h.purchase));
	const gammaGamma = fitGammaGamma(histories.map((h) => h.spend));
	const values = new Float64Array(histories.length);
	let likelyActive = 0;
	let repeatCustomers = 0;
	histories.forEach((h, i) => {
		values[i] = valueOf(bgNbd.parameters, gammaGamma.parameters, settings, h.purchase, h.spend);
		if (probabilityAlive(bgNbd.parameters, h.purchase) >= 0.5) likelyActive++;
		if (h.purchase.x > 0) repeatCustomers++;
	});
	values.sort();
	const valueQuantiles = Array.from({ length: QUANTILE_STEPS + 1 }, (_, k) => {
		const position = (k / QUANTILE_STEPS) * (values.length - 1);
		const low = Math.floor(position);
		const high = Math.min(low + 1, values.length - 1);
		return values[low] + (values[high] - values[low]) * (position - low);
	});
	return {
		fittedAt: new Date(now).toISOString(),
		bgNbd,
		gammaGamma,
		settings,
		customers: histories.length,
		repeatCustomers,
		likelyActiveShare: histories.length ? likelyActive / histories.length : 0,
		valueQuantiles,
	};
}

function valueOf(bg: BgNbdParameters, gg: GammaGammaParameters, settings: ValueSettings, purchase: PurchaseHistory, spend: SpendHistory): number {
	// Monthly periods over a year, as lifetimes does: the annual rate is spread over the periods' length.
	const steps = Math.max(1, Math.round(settings.horizonDays / 30));
	const periodYears = settings.horizonDays / steps / 365;
	return customerValue(bg, gg, purchase, spend, {
		horizon: settings.horizonDays,
		margin: settings.marginPercent / 100,
		discountRatePerPeriod: Math.pow(1 + settings.annualDiscountPercent / 100, periodYears) - 1,
		steps,
	});
}

/** One customer's figures under a fit, each computed when first asked for. */
export class CustomerPrediction {
	private readonly model: PredictiveModel;
	private readonly purchase: PurchaseHistory;
	private readonly spend: SpendHistory;
	private readonly lastOrderAt: number;
	private alive?: number;
	private value?: number;
	private readonly expected = new Map<number, number>();

	/** Undefined for someone with no order: the models say nothing about them. */
	static of(model: PredictiveModel, orders: readonly Order[], now: number): CustomerPrediction | undefined {
		const histories = historiesOf(orders, now);
		return histories && new CustomerPrediction(model, histories);
	}

	private constructor(model: PredictiveModel, histories: { purchase: PurchaseHistory; spend: SpendHistory; lastOrderAt: number }) {
		this.model = model;
		this.purchase = histories.purchase;
		this.spend = histories.spend;
		this.lastOrderAt = histories.lastOrderAt;
	}

	/** The probability the customer has not stopped buying, 0 to 1 (1 minus the churn risk). */
	probabilityActive(): number {
		this.alive ??= probabilityAlive(this.model.bgNbd.parameters, this.purchase);
		return this.alive;
	}

	expectedOrders(days: number): number {
		let orders = this.expected.get(days);
		if (orders === undefined) {
			orders = expectedPurchases(this.model.bgNbd.parameters, days, this.purchase);
			this.expected.set(days, orders);
		}
		return orders;
	}

	/** What the customer is expected to bring over the fit's horizon, with its margin and discount. */
	predictedValue(): number {
		const { bgNbd, gammaGamma, settings } = this.model;
		this.value ??= valueOf(bgNbd.parameters, gammaGamma.parameters, settings, this.purchase, this.spend);
		return this.value;
	}

	/**
	 * The customer's rank by predicted value among the customers of the fit, as "in the top N %":
	 * the share of them whose value is at least theirs. Top N % holds exactly when this is N or less.
	 */
	valueTopPercent(): number {
		const quantiles = this.model.valueQuantiles;
		const value = this.predictedValue();
		// The highest rank whose quantile is still at or below the value, between two steps by interpolation.
		let low = 0;
		let high = quantiles.length - 1;
		if (value < quantiles[0]) return 100;
		if (value >= quantiles[high]) return 0;
		while (high - low > 1) {
			const mid = (low + high) >> 1;
			if (quantiles[mid] <= value) low = mid;
			else high = mid;
		}
		const span = quantiles[high] - quantiles[low];
		const rank = (low + (span > 0 ? (value - quantiles[low]) / span : 0)) / (quantiles.length - 1);
		return 100 * (1 - rank);
	}

	/**
	 * When the next order was due at the customer's own pace, as the model read it at their last
	 * order: the last order plus the expected time between orders of someone with their history,
	 * (α + tx) / (r + x) days (the mean of their buying rate's posterior is (r + x) / (α + tx)).
	 */
	expectedNextOrderAt(): number {
		const { r, alpha } = this.model.bgNbd.parameters;
		return this.lastOrderAt + ((alpha + this.purchase.tx) / (r + this.purchase.x)) * DAY_MS;
	}

	/** The figures that cost next to nothing, as a marketer reads them, rounded. */
	basics(): Record<string, unknown> {
		return {
			probabilityActivePercent: round(100 * this.probabilityActive(), 1),
			expectedNextOrder: new Date(this.expectedNextOrderAt()).toISOString(),
			purchaseDays: this.purchase.x + 1,
			fittedAt: this.model.fittedAt,
		};
	}

	/** The predicted value and the rank it gives, rounded: a dozen expectations a person, so only when read. */
	valueFigures(): Record<string, unknown> {
		return { predictedValue: round(this.predictedValue(), 2), predictedValueTopPercent: round(this.valueTopPercent(), 1) };
	}

	/** Every figure, for the profile. */
	summary(): Record<string, unknown> {
		return { ...this.basics(), ...this.valueFigures() };
	}
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** "A typical customer buys every … days; …% of customers are likely still active; …": the fit in plain words. */
export function readingOf(model: PredictiveModel): string {
	const { r, alpha } = model.bgNbd.parameters;
	const q = model.valueQuantiles;
	const money = (v: number) => v.toFixed(2);
	return (
		`A typical customer buys about every ${Math.round(alpha / r)} days while active; ` +
		`${Math.round(100 * model.likelyActiveShare)} % of the ${model.customers} customers are likely still active (${model.repeatCustomers} ordered more than once). ` +
		`Over the next ${model.settings.horizonDays} days, a customer's predicted value is ${money(q[q.length >> 1])} at the median, ` +
		`and the top 20 % are worth ${money(q[Math.round(0.8 * (q.length - 1))])} or more each.`
	);
}
