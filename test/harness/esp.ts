import type { IDataObject } from 'n8n-workflow';

import { RetargetingSesApi } from '../../credentials/RetargetingSesApi.credentials.ts';
import type { EmailInput, EmailSettings, MessageContent } from '../../nodes/shared/delivery/email.ts';
import type { HttpCall } from '../../nodes/shared/http.ts';
import { parseEvent } from '../../nodes/shared/events/model.ts';
import type { SqlDriver } from '../../nodes/shared/store/driver.ts';
import type { RetargetingStore } from '../../nodes/shared/store/store.ts';
import type { StandIn } from './stand-in.ts';
import type { StoreFixture } from './stores.ts';

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

/** What n8n does for ESP Send through Amazon SES: the credential signs the request, then it is sent. */
export function sesCall(base: () => string, keys: { region: string; accessKeyId: string; secretAccessKey: string; sessionToken?: string }): HttpCall {
	const credential = new RetargetingSesApi();
	return async ({ method, path, body }) => {
		const options = await credential.authenticate({ ...keys, apiUrl: base() }, { method, url: path, body: body as IDataObject | undefined, json: true, headers: { Accept: 'application/json' } });
		const res = await fetch(options.url, { method, headers: options.headers as Record<string, string>, body: options.body as string | undefined });
		const text = await res.text();
		return { status: res.status, headers: Object.fromEntries(res.headers), body: text ? JSON.parse(text) : undefined };
	};
}

/** What a provider test works with: a fresh, migrated store and a started stand-in at `base`. */
export interface ProviderContext<S extends StandIn> {
	store: RetargetingStore;
	standIn: S;
	base: string;
}

/**
 * Every provider suite needs the same world for each test: its stand-in started, then a fresh store
 * opened and migrated; afterwards the stand-in stopped and the store disposed. This registers those
 * hooks in the calling describe block; the returned object's properties are replaced before each
 * test, so read them inside tests and hooks, never at describe time.
 */
export function providerFixture<S extends StandIn>(makeFixture: () => StoreFixture, makeStandIn: () => S): ProviderContext<S> {
	const ctx = {} as ProviderContext<S>;
	let fixture: StoreFixture;
	beforeEach(async () => {
		ctx.standIn = makeStandIn();
		ctx.base = await ctx.standIn.start();
		fixture = makeFixture();
		ctx.store = await fixture.open();
		await ctx.store.migrate();
	});
	afterEach(async () => {
		await ctx.standIn.stop();
		await fixture.dispose();
	});
	return ctx;
}

/**
 * The email the provider tests send to an address (step 1, key `wf:<email>:1`, no values): the same
 * greeting and unsubscribe link everywhere, with what a provider test checks in particular (a reply-to
 * address, an awkward sender name) given in `content`.
 */
export function emailItem(email: string, content: Partial<MessageContent> = {}): EmailInput {
	return {
		person: { kind: 'email', value: email },
		key: `wf:${email}:1`,
		step: 1,
		values: {},
		content: { from: { email: 'shop@example.com', name: 'The Shop' }, subject: 'Hi {first_name}', html: '<p>Hi {first_name}</p>', text: '', unsubscribeUrl: 'https://shop.example/u/{profile_id}', ...content },
	};
}
