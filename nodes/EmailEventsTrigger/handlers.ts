/** The Email Events Trigger's two jobs: the unsubscribe endpoint, and one provider's event webhook. */
import type { IWebhookFunctions } from 'n8n-workflow';

import type { FeedbackProvider, FeedbackReading, FeedbackRequest } from '../shared/feedback/model';
import { readProviderRequest, type WebhookCredential } from './providers';
import { answerUnsubscribe, UNSUBSCRIBE_HEADERS } from './unsubscribePage';
import { MIN_SECRET_LENGTH } from '../shared/feedback/unsubscribe-token';
import { isStoreSetupError, storeFor } from '../shared/parameters/storeParameters';

export type EventSource = 'unsubscribe' | Exclude<FeedbackProvider, 'smtp'>;

/** A body larger than this is refused before it is read: SendGrid's largest posts (1,000 events) stay well under. */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

async function rawBody(ctx: IWebhookFunctions): Promise<Buffer> {
	const req = ctx.getRequestObject();
	if (!req.rawBody) await req.readRawBody();
	return req.rawBody ?? Buffer.alloc(0);
}

/**
 * The URL the provider called, as it knows it (Mailchimp Transactional signs it): the one the
 * credential says it was registered with, else this trigger's public URL; with the query string the
 * request carried (a token may be there) unless the registered URL has its own.
 */
function publicUrlOf(ctx: IWebhookFunctions, credential: WebhookCredential): string {
	const base = String(credential.signedUrl || ctx.getNodeWebhookUrl('default') || '');
	const called = ctx.getRequestObject().originalUrl ?? '';
	return base.includes('?') || !called.includes('?') ? base : `${base}${called.slice(called.indexOf('?'))}`;
}

/** The unsubscribe endpoint; answers itself and gives what was applied, for the workflow. */
export async function handleUnsubscribeRequest(ctx: IWebhookFunctions): Promise<Array<Record<string, unknown>>> {
	const req = ctx.getRequestObject();
	const res = ctx.getResponseObject();
	res.set(UNSUBSCRIBE_HEADERS);
	const credential = await ctx.getCredentials<{ secret: string; shopName?: string; backUrl?: string }>('retargetingUnsubscribeApi');
	if (String(credential.secret ?? '').length < MIN_SECRET_LENGTH) {
		res.status(500).type('text/plain').send('This unsubscribe page is not set up: its signing secret must be at least 32 characters.');
		return [];
	}
	if (req.method === 'HEAD') {
		res.status(200).end();
		return [];
	}
	const answer = await answerUnsubscribe(
		await storeFor(ctx),
		{ method: req.method, token: typeof req.query.t === 'string' ? req.query.t : undefined, body: req.method === 'POST' ? (await rawBody(ctx)).toString('utf8') : undefined },
		credential,
	);
	if (answer.html) res.status(answer.status).type('text/html; charset=utf-8').send(answer.html);
	else res.status(answer.status).end();
	return answer.done ? [{ kind: 'unsubscribed', ...answer.done }] : [];
}

/**
 * One provider's event webhook: authenticity and reading (providers.ts), then the store. A request
 * that is not authentic or not readable is answered 4xx and changes nothing; an event of a kind we
 * do not use is answered 200 and listed as ignored, since the provider would send it again forever.
 */
export async function handleProviderRequest(ctx: IWebhookFunctions, provider: Exclude<EventSource, 'unsubscribe'>): Promise<Array<Record<string, unknown>>> {
	const req = ctx.getRequestObject();
	const res = ctx.getResponseObject();
	// Mailchimp Transactional checks the URL with a HEAD request when the webhook is added.
	if (req.method === 'HEAD' || req.method === 'GET') {
		res.status(200).json({ ok: true, provider, note: 'POST the provider events here' });
		return [];
	}
	const length = Number(req.headers['content-length'] ?? 0);
	if (length > MAX_BODY_BYTES) {
		res.status(413).json({ error: `The request is larger than ${MAX_BODY_BYTES / 1024 / 1024} MB` });
		return [];
	}
	let credential: WebhookCredential;
	try {
		credential = await ctx.getCredentials<WebhookCredential>('retargetingEmailWebhookApi');
	} catch {
		res.status(401).json({ error: 'This endpoint has no credential yet: choose a Retargeting Email Provider Webhook API credential on the trigger' });
		return [];
	}
	if (credential.provider && credential.provider !== provider) {
		res.status(401).json({ error: `The credential is for ${credential.provider}, the trigger for ${provider}: choose a credential of the same provider` });
		return [];
	}
	// Only Mailchimp Transactional signs the URL; the others need at most its query (a token).
	const url = provider === 'mandrill' ? publicUrlOf(ctx, credential) : `http://localhost${req.originalUrl ?? ''}`;
	const request: FeedbackRequest = { body: await rawBody(ctx), headers: req.headers, url, method: req.method };
	let reading: FeedbackReading;
	try {
		reading = await readProviderRequest(ctx, provider, request, credential);
	} catch (error) {
		res.status(500).json({ error: (error as Error).message });
		return [];
	}
	if (!reading.ok) {
		res.status(reading.status).json({ error: reading.error });
		return [];
	}
	let outcomes;
	try {
		outcomes = await (await storeFor(ctx)).applyFeedback(reading.events, { softBounceLimit: Number(ctx.getNodeParameter('softBounceLimit', 3)) });
	} catch (error) {
		ctx.logger.error('Email Events Trigger: the retargeting store could not record a webhook', { error: (error as Error).message, provider });
		if (isStoreSetupError(error)) {
			res.status(500).json({ error: (error as Error).message });
			return [];
		}
		res.status(503).json({ error: 'The events could not be recorded; nothing was kept. The provider will send them again.' });
		return [];
	}
	const count = (status: string) => outcomes.filter((o) => o.status === status).length;
	const summary = { received: reading.events.length, applied: count('applied'), duplicates: count('duplicate'), unknown: count('unknown'), ignored: reading.ignored };
	if (reading.reply) res.status(200).json({ ...summary, message: reading.reply });
	else res.status(200).json(summary);
	return outcomes
		.map((o, i) => ({ ...o, provider, email: reading.events[i].email, at: reading.events[i].at, reason: reading.events[i].reason, url: reading.events[i].url }))
		.filter((o) => o.status === 'applied');
}
