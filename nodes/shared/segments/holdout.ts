import { createHash } from 'node:crypto';

/**
 * Where a person falls, from 0 to 100, for one campaign: the same person and campaign always give
 * the same place, on any machine, so a person stays in or out of a holdout across runs, while
 * another campaign draws its holdout independently.
 */
export function holdoutPlace(personKey: string, campaign: string): number {
	const digest = createHash('sha256').update(`${campaign}\u0000${personKey}`).digest();
	return (digest.readUInt32BE(0) / 0x1_0000_0000) * 100;
}

export function inHoldout(personKey: string, campaign: string, percent: number): boolean {
	return percent > 0 && holdoutPlace(personKey, campaign) < percent;
}
