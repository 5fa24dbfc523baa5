import type { DueCart } from '../shared/store/abandonment';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The step delays a user typed, such as "1h, 24h, 72h" (units s, m, h, d), in milliseconds; or
 * why they cannot be used.
 */
export function parseDelays(text: string): { ok: true; delaysMs: number[] } | { ok: false; reason: string } {
	const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
	if (parts.length === 0) return { ok: false, reason: 'give at least one delay, such as 1h' };
	const delaysMs: number[] = [];
	for (const part of parts) {
		const match = /^(\d+(?:\.\d+)?)\s*([smhd])$/i.exec(part);
		if (!match) return { ok: false, reason: `"${part}" is not a delay such as 30m, 1h or 3d` };
		delaysMs.push(Number(match[1]) * UNIT_MS[match[2].toLowerCase()]);
	}
	if (delaysMs.some((d, i) => d <= 0 || (i > 0 && d <= delaysMs[i - 1]))) {
		return { ok: false, reason: 'each delay must be longer than the one before it' };
	}
	return { ok: true, delaysMs };
}

/** The recovery link: `{cart_id}`, `{profile_id}` and `{step}` replaced, URL-encoded. */
export function recoveryUrl(template: string, due: DueCart): string {
	const values: Record<string, string> = { cart_id: due.cart.id, profile_id: due.profile.id, step: String(due.step) };
	return template.replace(/\{(cart_id|profile_id|step)\}/g, (_, key: string) => encodeURIComponent(values[key]));
}

/** One output item: the cart, the step, the link and the person, ready for a message. */
export function dueCartItem(due: DueCart, steps: number, template: string): Record<string, unknown> {
	const { cart } = due;
	return {
		cartId: cart.id,
		profileId: due.profile.id,
		step: due.step,
		steps,
		items: cart.items,
		value: cart.value,
		currency: cart.currency,
		openedAt: cart.openedAt,
		lastActivity: cart.lastActivity,
		checkoutAt: cart.checkoutAt,
		...(template ? { recoveryUrl: recoveryUrl(template, due) } : {}),
		profile: due.profile,
	};
}
