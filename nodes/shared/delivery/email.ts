import { setTimeout as sleep } from 'node:timers/promises';

import { askedToWaitTooLong, DEFAULT_RETRY, type RetryPolicy, waitBeforeRetry } from '../http';
import { pathValue } from '../segments/evaluate';
import { type PersonInput, type Routed, SegmentRouter } from '../segments/filter';
import type { Condition } from '../segments/rules';
import { SEND_KEY_HEADER } from '../feedback/model';
import { unsubscribeLink } from '../feedback/unsubscribe-token';
import type { SqlDriver } from '../store/driver';
import { sendClickId } from '../store/feedback';
import { selectIn } from '../store/sql';
import type { ProfileFields } from '../store/rows';
import { confirmSends, releaseSends, reserveSends, type Reservation, type SendCap, type SendRecord } from './ledger';
import { productsBlock, renderTemplate, textOfHtml, trackedLink } from './render';
import type { EmailMessage, EmailSender, SendResult } from './provider';

/** What one message says; read per item, so expressions may differ between items. */
export interface MessageContent {
	from: { email: string; name?: string };
	replyTo?: string;
	subject: string;
	html: string;
	/** Empty: made from the HTML. */
	text: string;
	/**
	 * Your own unsubscribe page, with `{profile_id}` and `{email}`; becomes the List-Unsubscribe
	 * header and {unsubscribe_url}. Not used when the settings give the package's unsubscribe page.
	 */
	unsubscribeUrl: string;
}

export interface EmailSettings {
	campaign: string;
	/** The provider, as utm_source of links and source of the touchpoint. */
	source: string;
	requireExplicitConsent: boolean;
	cap?: SendCap;
	/** Everything goes to this address instead, and nothing is recorded. */
	testAddress?: string;
	/** Render only: nothing is sent or recorded. */
	dryRun: boolean;
	fields: { cartItems: string; recommendations: string; recoveryUrl: string; currency: string };
	retry?: RetryPolicy;
	/** Provider calls under way at once (default 1): one-email-a-call APIs are bound by latency. */
	parallelCalls?: number;
	/** The package's unsubscribe page (Email Events Trigger): each link carries a signed token of the person and campaign. */
	unsubscribe?: { publicUrl: string; secret: string };
}

export interface EmailInput extends PersonInput {
	key: string;
	step: number | null;
	content: MessageContent;
	/** The item's fields, which templates can use. */
	values: Record<string, unknown>;
}

export interface EmailOutcome {
	status: 'sent' | 'skipped' | 'failed' | 'rendered';
	reason?: string;
	key: string;
	to?: string;
	providerId?: string;
	attempts?: number;
	subject?: string;
	html?: string;
	text?: string;
	missingVariables?: string[];
}

/** The person's first name, as traits usually spell it. */
function firstName(profile: ProfileFields): string {
	const t = profile.traits;
	const name = t.first_name ?? t.firstName ?? (typeof t.name === 'string' ? t.name.split(' ')[0] : undefined);
	return typeof name === 'string' ? name : '';
}

/** One plain address: no list, no display name, no spaces (an address from a form can hold several). */
const SINGLE_ADDRESS = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>"]+$/;

const capReason = (cap: SendCap) => `frequency cap: ${cap.max} email(s) within ${cap.withinHours} h already`;

/**
 * Why the guard refused a person, in a marketer's words. The guard's conditions are tried in order
 * and stop at the first that fails, so the last fact read names it.
 */
function refusal(profile: ProfileFields, settings: EmailSettings, facts: Record<string, unknown>): string {
	if (settings.cap && 'email sends' in facts) return capReason(settings.cap);
	if ('email consent' in facts) return facts['email consent'] === false ? 'the person withdrew email consent' : 'the person never gave email consent';
	return `the person is suppressed${profile.suppressedReason ? ` (${profile.suppressedReason})` : ''}`;
}

/** A send that passed every check before the store's reservation. */
interface PlannedSend {
	index: number;
	record: SendRecord;
	profile: ProfileFields;
}

/** A reserved send, rendered, for the provider. */
interface ReadySend {
	index: number;
	record: SendRecord;
	clickId: string;
	message: EmailMessage;
}

interface Delivery {
	result: SendResult;
	attempts: number;
}

/** What the delivery steps of one sendEmails call share. */
interface DeliveryRun {
	db: SqlDriver;
	settings: EmailSettings;
	now: number;
	/** Sends and records: neither a dry run nor a test address. */
	live: boolean;
	outcomes: EmailOutcome[];
	/** Keys reserved here and not yet handed to the provider: given back if the run stops. */
	untouched: Set<string>;
	confirmations: Parameters<typeof confirmSends>[1];
}

/**
 * Sends one email per item, each guarded in this order: the person is in the store and has an
 * email address, not suppressed, consent, frequency cap, and the idempotency key (recorded before
 * the provider is called and confirmed after), so a retried execution never sends twice.
 */
export async function sendEmails(
	db: SqlDriver,
	sender: EmailSender | undefined,
	inputs: EmailInput[],
	settings: EmailSettings,
	now = Date.now(),
): Promise<EmailOutcome[]> {
	const outcomes: EmailOutcome[] = inputs.map((input) => ({ status: 'skipped', key: input.key }));
	const routed = await routeThroughGuard(db, inputs, settings, now);
	const planned = await withoutCampaignOptOuts(db, settings.campaign, planSends(inputs, routed, settings, outcomes), outcomes);
	const live = !settings.dryRun && !settings.testAddress;
	const reservations = live ? await reserveSends(db, planned.map((p) => p.record), new Date(now), settings.cap) : undefined;
	const untouched = new Set(planned.filter((p) => reservations?.get(p.record.key) === 'reserved').map((p) => p.record.key));
	const run: DeliveryRun = { db, settings, now, live, outcomes, untouched, confirmations: [] };
	const ready = renderReserved(inputs, planned, reservations, run, settings.dryRun || !sender);
	try {
		if (sender) await deliverInWaves(sender, ready, run);
	} finally {
		if (live) {
			await confirmSends(db, run.confirmations, new Date(now));
			await releaseSends(db, [...untouched]);
		}
	}
	return outcomes;
}

/** Each input's person read against the guard: not suppressed, consent for email, frequency cap. */
async function routeThroughGuard(db: SqlDriver, inputs: EmailInput[], settings: EmailSettings, now: number): Promise<Routed[]> {
	const guard: Condition[] = [{ type: 'notSuppressed' }, { type: 'consent', channel: 'email', explicit: settings.requireExplicitConsent }];
	if (settings.cap) guard.push({ type: 'frequencyCap', channel: 'email', max: settings.cap.max, withinHours: settings.cap.withinHours });
	const router = new SegmentRouter(db, { segments: [{ name: 'may be emailed', groups: [guard] }], firstOnly: true, holdoutPercent: 0, campaign: settings.campaign, now });
	return await router.route(inputs);
}

/** The items that may be sent as far as this run can tell; the others' outcomes say why not. */
function planSends(inputs: EmailInput[], routed: Routed[], settings: EmailSettings, outcomes: EmailOutcome[]): PlannedSend[] {
	const planned: PlannedSend[] = [];
	const keys = new Set<string>();
	const plannedFor = new Map<string, number>();
	routed.forEach((r, i) => {
		const { key, step } = inputs[i];
		if (!r.profile) return void (outcomes[i].reason = r.segment.reason);
		if (!r.profile.email) return void (outcomes[i].reason = 'the person has no email address');
		if (!SINGLE_ADDRESS.test(r.profile.email)) return void (outcomes[i].reason = 'the email address of the person is not one valid address');
		if (r.segment.matched.length === 0) return void (outcomes[i].reason = refusal(r.profile, settings, r.segment.facts));
		if (keys.has(key)) return void (outcomes[i].reason = 'another item of this run has the same idempotency key');
		// The cap counts what this run already plans for the person, not only what the store holds.
		const earlier = plannedFor.get(r.profile.id) ?? 0;
		if (settings.cap && Number(r.segment.facts['email sends'] ?? 0) + earlier >= settings.cap.max) return void (outcomes[i].reason = capReason(settings.cap));
		plannedFor.set(r.profile.id, earlier + 1);
		keys.add(key);
		planned.push({ index: i, record: { key, profileId: r.profile.id, channel: 'email', campaign: settings.campaign || null, step }, profile: r.profile });
	});
	return planned;
}

/** The planned sends but those to people who unsubscribed from the campaign, whose outcomes say so. */
async function withoutCampaignOptOuts(db: SqlDriver, campaign: string, planned: PlannedSend[], outcomes: EmailOutcome[]): Promise<PlannedSend[]> {
	const optedOut = await campaignOptOuts(db, campaign, planned.map((p) => p.profile.id));
	for (const p of planned.filter((x) => optedOut.has(x.profile.id))) outcomes[p.index].reason = 'the person unsubscribed from this campaign';
	return planned.filter((p) => !optedOut.has(p.profile.id));
}

/** Why the store refused to reserve a send, or undefined when it may go. */
function reservationRefusal(reservation: Reservation | undefined, settings: EmailSettings): string | undefined {
	if (reservation === 'sent') return 'already sent (same idempotency key)';
	if (reservation === 'gone') return 'this person is not in the store';
	// Another run sent to the person after this one checked the cap.
	if (reservation === 'capped' && settings.cap) return capReason(settings.cap);
	if (reservation === 'pending') return 'an earlier attempt with this idempotency key was never confirmed; not sent again, to avoid a double';
	return undefined;
}

/**
 * The planned sends the store let go, rendered: the messages for the provider, or with `renderOnly`
 * (a dry run, no provider) written into their outcomes. The refused ones' outcomes say why.
 */
function renderReserved(inputs: EmailInput[], planned: PlannedSend[], reservations: Map<string, Reservation> | undefined, run: DeliveryRun, renderOnly: boolean): ReadySend[] {
	const { settings } = run;
	const ready: ReadySend[] = [];
	for (const { index, record, profile } of planned) {
		const outcome = run.outcomes[index];
		const refused = reservationRefusal(reservations?.get(record.key), settings);
		if (refused) {
			outcome.reason = refused;
			continue;
		}
		const clickId = sendClickId(record.key);
		const { missing, ...message } = render(inputs[index], profile, settings, clickId);
		outcome.to = settings.testAddress || profile.email!;
		outcome.subject = message.subject;
		if (missing.length) outcome.missingVariables = missing;
		if (renderOnly) Object.assign(outcome, { status: 'rendered', html: message.html, text: message.text });
		else ready.push({ index, record, clickId, message: { ...message, to: outcome.to, key: record.key } });
	}
	return ready;
}

/** The messages in batches of the provider's maximum, `parallelCalls` batches at a time. */
async function deliverInWaves(sender: EmailSender, ready: ReadySend[], run: DeliveryRun): Promise<void> {
	const chunks: ReadySend[][] = [];
	for (let start = 0; start < ready.length; start += sender.maxBatch) chunks.push(ready.slice(start, start + sender.maxBatch));
	const parallel = Math.max(1, Math.floor(run.settings.parallelCalls ?? 1));
	for (let first = 0; first < chunks.length; first += parallel) {
		const wave = chunks.slice(first, first + parallel);
		const settled = await Promise.allSettled(wave.map((chunk) => deliver(sender, chunk.map((c) => c.message), run.settings.retry ?? DEFAULT_RETRY)));
		recordWave(wave, settled, run);
		// Recorded wave by wave: a process that dies mid-run (a killed worker) leaves only the wave
		// under way unclear, and what was sent before it counts as sent.
		if (run.live) await confirmSends(run.db, run.confirmations.splice(0), new Date(run.now));
	}
}

/** Each message's outcome in a wave, and its confirmation to record; throws when the run must stop. */
function recordWave(wave: ReadySend[][], settled: Array<PromiseSettledResult<Delivery[]>>, run: DeliveryRun): void {
	let fatal: string | undefined;
	let broken: unknown;
	wave.forEach((chunk, j) => {
		const delivered = settled[j];
		if (delivered.status === 'rejected') {
			// Handed to the provider with no outcome: left pending, never sent again.
			broken ??= delivered.reason;
			for (const { record } of chunk) run.untouched.delete(record.key);
			return;
		}
		chunk.forEach(({ index, record, clickId }, k) => {
			const { result, attempts } = delivered.value[k];
			if (!result.ok && result.fatal) {
				fatal ??= result.reason;
				return;
			}
			run.untouched.delete(record.key);
			Object.assign(run.outcomes[index], result.ok ? { status: 'sent', providerId: result.providerId, attempts } : { status: 'failed', reason: result.reason, attempts });
			// An outcome the provider left unclear stays pending: never sent again.
			if (run.live && (result.ok || !result.unknown)) run.confirmations.push({ record, sent: result.ok, clickId, source: run.settings.source, providerId: result.ok ? result.providerId : undefined });
		});
	});
	if (broken !== undefined) throw broken;
	// The provider cannot be used at all (login refused, no such host): stop, keep nothing reserved.
	if (fatal) throw new Error(`the email provider cannot be used: ${fatal}`);
}

/** The message of one item: templates filled, recovery link tagged, unsubscribe headers set. */
function render(input: EmailInput, profile: ProfileFields, settings: EmailSettings, clickId: string): Omit<EmailMessage, 'to'> & { missing: string[] } {
	const { values, step, content } = input;
	const currency = String(pathValue(values, settings.fields.currency) ?? 'EUR');
	const recovery = pathValue(values, settings.fields.recoveryUrl);
	const unsubscribe = unsubscribeUrlOf(content, profile, settings);
	const tagged = (url: string, content?: string) => trackedLink(url, { source: settings.source, campaign: settings.campaign, content, clickId });
	const all = {
		...values,
		profile,
		first_name: firstName(profile),
		step,
		campaign: settings.campaign,
		unsubscribe_url: unsubscribe,
		...(typeof recovery === 'string' && recovery
			? { recovery_url: tagged(recovery, step === null ? undefined : `step-${step}`) }
			: {}),
	};
	const blocks = {
		cart_items: productsBlock(pathValue(values, settings.fields.cartItems), currency),
		// A click on a recommended product is attributed to the email, as one on the recovery link.
		recommendations: productsBlock(pathValue(values, settings.fields.recommendations), currency, { images: true, link: (url) => tagged(url, 'recommendations') }),
	};
	const subject = renderTemplate(content.subject, all, 'text', blocks);
	const html = renderTemplate(content.html, all, 'html', blocks);
	const text = content.text ? renderTemplate(content.text, all, 'text', blocks) : { output: textOfRenderedHtml(content.html, all, blocks), missing: [] };
	return {
		from: content.from,
		replyTo: content.replyTo,
		subject: subject.output.replace(/[\r\n]+/g, ' ').trim(),
		html: html.output,
		text: text.output,
		headers: { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click', ...(settings.testAddress ? {} : { [SEND_KEY_HEADER]: input.key.replace(/[\r\n]+/g, ' ') }) },
		missing: [...new Set([...subject.missing, ...html.missing, ...text.missing])],
	};
}

/** The person's unsubscribe link: the package's signed one, or your own page's with their ids filled in. */
function unsubscribeUrlOf(content: MessageContent, profile: ProfileFields, settings: EmailSettings): string {
	// In test mode the link must not unsubscribe the real person from the QA inbox.
	if (settings.unsubscribe) {
		const { publicUrl, secret } = settings.unsubscribe;
		return settings.testAddress ? `${publicUrl}${publicUrl.includes('?') ? '&' : '?'}t=test-mode` : unsubscribeLink(publicUrl, secret, { profileId: profile.id, campaign: settings.campaign });
	}
	return content.unsubscribeUrl.replace(/\{(profile_id|email)\}/g, (_, k: string) => (settings.testAddress ? 'test-mode' : encodeURIComponent(k === 'email' ? profile.email! : profile.id)));
}

/** The people of `profileIds` who unsubscribed from the campaign's emails (and not from all). */
async function campaignOptOuts(db: SqlDriver, campaign: string, profileIds: string[]): Promise<Set<string>> {
	const rows = await selectIn<{ profile_id: string }>(db, 'SELECT profile_id FROM rt_campaign_optouts WHERE campaign = ? AND profile_id IN (?*)', profileIds, [campaign]);
	return new Set(rows.map((r) => r.profile_id));
}

/** The plain-text part made from the HTML template, with the blocks in their own text form. */
function textOfRenderedHtml(template: string, values: Record<string, unknown>, blocks: Record<string, { html: string; text: string }>): string {
	const marks = Object.fromEntries(Object.keys(blocks).map((name) => [name, { html: `\uE000${name}\uE000`, text: '' }]));
	const text = textOfHtml(renderTemplate(template, values, 'html', marks).output);
	return text.replace(/\uE000([\w-]+)\uE000/g, (_, name: string) => blocks[name].text);
}

/**
 * Sends a batch, then again only the messages whose failure may pass (429, 5xx, SMTP 4xx), waiting
 * twice as long each time, or as long as the provider asked (its reset or Retry-After header).
 */
async function deliver(sender: EmailSender, messages: EmailMessage[], policy: RetryPolicy): Promise<Delivery[]> {
	const delivered = new Array<Delivery>(messages.length);
	let pending = messages.map((_, i) => i);
	for (let attempt = 1; pending.length > 0; attempt++) {
		const results = await sender.sendBatch(pending.map((i) => messages[i]));
		const again: number[] = [];
		let asked = 0;
		results.forEach((result, k) => {
			delivered[pending[k]] = { result, attempts: attempt };
			if (!result.ok && result.retryable && attempt < policy.attempts) {
				again.push(pending[k]);
				asked = Math.max(asked, result.retryAfterMs ?? 0);
			}
		});
		if (again.length === 0 || results.some((r) => !r.ok && r.fatal)) break;
		const wait = waitBeforeRetry(policy, attempt, asked);
		if (wait === undefined) {
			for (const i of again) {
				const { result } = delivered[i];
				if (!result.ok) delivered[i] = { ...delivered[i], result: { ...result, reason: askedToWaitTooLong(result.reason, asked) } };
			}
			break;
		}
		await sleep(wait);
		pending = again;
	}
	return delivered;
}
