/**
 * The predictive models' shapes, shared by their fitting (bg-nbd.ts, gamma-gamma.ts), the store
 * that keeps a fit, and the segment conditions that read it. Time is in days throughout the package
 * (the models do not care about the unit as long as it is one: the CDNOW test works in weeks).
 */

/** One customer's repeat-purchase history as BG/NBD reads it (Fader, Hardie and Lee 2005). */
export interface PurchaseHistory {
	/** Repeat purchases: orders after the first, in the calibration period. */
	x: number;
	/** Time of the last purchase, from the first (0 when x = 0). */
	tx: number;
	/** Time from the first purchase to the end of the calibration period. */
	T: number;
}

/** A repeat buyer's spend as the Gamma-Gamma model reads it (Fader and Hardie 2013). */
export interface SpendHistory {
	/** Repeat purchases (at least 1). */
	x: number;
	/** Mean value of those repeat purchases. */
	mx: number;
}

export interface BgNbdParameters {
	r: number;
	alpha: number;
	a: number;
	b: number;
}

export interface GammaGammaParameters {
	p: number;
	q: number;
	gamma: number;
}

/** What a fit reports besides its parameters, so that a marketer can judge it. */
export interface FitReport<P> {
	parameters: P;
	logLikelihood: number;
	/** Customers the fit read. */
	customers: number;
	iterations: number;
	converged: boolean;
}

/**
 * A fit refused because the orders cannot support it: too few customers, nobody ordering twice, or
 * orders that do not pin the model down. The message names what is missing, for a marketer.
 */
export class NotEnoughDataError extends Error {
	override readonly name = 'NotEnoughDataError';

	/** What the fit needs and what it found, when the shortage is a count. */
	readonly details?: { needed: number; found: number; what: string };

	constructor(message: string, details?: { needed: number; found: number; what: string }) {
		super(message);
		this.details = details;
	}
}
