import type { EmailSettings } from '../../nodes/shared/delivery/email.ts';
import type { HttpCall } from '../../nodes/shared/delivery/provider.ts';
import { parseEvent } from '../../nodes/shared/events/model.ts';
import type { SqlDriver } from '../../nodes/shared/store/driver.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';

/** What n8n's authenticated request does for ESP Send: the credential's header, JSON both ways. */
export function fetchCall(base: () => string, auth: Record<string, string>): HttpCall {
	return async ({ method, path, body }) => {
		const res = await fetch(`${base()}${path}`, {
			method,
			headers: { 'content-type': 'application/json', accept: 'application/json', ...auth },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await res.text();
		return { status: res.status, headers: Object.fromEntries(res.headers), body: text ? JSON.parse(text) : undefined };
	};
}

/** ESP Send's settings in the provider tests: explicit consent, no cap, fast retries. */
export function providerSettings(source: string): EmailSettings {
	return {
		campaign: 'cart-recovery',
		source,
		requireExplicitConsent: true,
		dryRun: false,
		fields: { cartItems: 'items', recommendations: 'recommendations', recoveryUrl: 'recoveryUrl', currency: 'currency' },
		retry: { attempts: 3, baseDelayMs: 10 },
	};
}

/** The status of each recorded send, by idempotency key. */
export async function sendStatuses(db: SqlDriver): Promise<Record<string, string>> {
	const rows = await db.all<{ idempotency_key: string; status: string }>('SELECT idempotency_key, status FROM rt_sends');
	return Object.fromEntries(rows.map((r) => [r.idempotency_key, r.status]));
}

let seeded = 0;

/** People who opted in to email, one per address (the address is also their user ID), first name Ada. */
export async function optedIn(store: RetargetingStore, emails: string[]): Promise<void> {
	const events = emails.map((email) => {
		const parsed = parseEvent({ messageId: `opted-in-${++seeded}`, type: 'identify', userId: email, traits: { email, first_name: 'Ada' }, context: { consent: { email: true } } });
		if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
		return parsed.event;
	});
	for (let i = 0; i < events.length; i += 500) await store.appendEvents(events.slice(i, i + 500));
}
