/**
 * The package's unsubscribe endpoint, free of n8n: a GET shows a small page (no JavaScript) that
 * offers "this campaign" or "all emails" and changes nothing, since mail scanners open links; a
 * POST of that page's form applies the choice; a POST of `List-Unsubscribe=One-Click` (RFC 8058,
 * what Gmail and Yahoo send) withdraws email consent at once and answers 200 with no page.
 */
import { escapeHtml } from '../shared/html';
import type { RetargetingStore } from '../shared/store/store';
import { readUnsubscribeToken } from '../shared/feedback/unsubscribe-token';

export interface UnsubscribePageSettings {
	secret: string;
	shopName?: string;
	backUrl?: string;
}

export interface UnsubscribeRequest {
	method: string;
	/** The `t` query parameter. */
	token?: string;
	/** The raw body of a POST, form-encoded. */
	body?: string;
}

/** What the person chose, once applied: for the workflow the trigger starts. */
export interface Unsubscribed {
	profileId: string;
	campaign: string;
	scope: 'campaign' | 'all';
	source: 'one-click' | 'unsubscribe-page';
}

export interface UnsubscribeAnswer {
	status: number;
	/** HTML, or empty for the one-click answer. */
	html: string;
	done?: Unsubscribed;
}

/** Headers of every answer: the token is in the URL, so no referrer; the page is never cached or framed. */
export const UNSUBSCRIBE_HEADERS = {
	'Cache-Control': 'no-store',
	'Referrer-Policy': 'no-referrer',
	'X-Frame-Options': 'DENY',
	'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'",
};

export async function answerUnsubscribe(store: RetargetingStore, request: UnsubscribeRequest, settings: UnsubscribePageSettings): Promise<UnsubscribeAnswer> {
	const form = new URLSearchParams(request.body ?? '');
	const oneClick = request.method === 'POST' && form.get('List-Unsubscribe') === 'One-Click';
	const token = request.token ?? form.get('t') ?? '';
	const read = readUnsubscribeToken(settings.secret, token);
	if (!read.ok) return { status: 400, html: oneClick ? '' : page(settings, 'Link not valid', `<p>${escapeHtml(read.problem)}</p>`) };
	const { profileId, campaign } = read.claim;
	const profile = await store.findProfile({ profileId });
	if (!profile) {
		// Erased or merged away: nothing to change, and nothing to tell about anyone.
		return { status: 200, html: oneClick ? '' : page(settings, 'Unsubscribed', '<p>This address gets no more emails from us.</p>') };
	}
	if (oneClick) {
		// RFC 8058: the list's one-click unsubscribe, so email only.
		await store.unsubscribe(profile.id, { purposes: ['email'] }, 'one-click');
		return { status: 200, html: '', done: { profileId: profile.id, campaign, scope: 'all', source: 'one-click' } };
	}
	if (request.method !== 'POST') return { status: 200, html: page(settings, 'Unsubscribe', choices(token, campaign)) };
	const scope = form.get('scope') === 'campaign' ? 'campaign' : 'all';
	// "All" on the page is an objection to our marketing: emails, and ads drawn from what the person did.
	await store.unsubscribe(profile.id, scope === 'all' ? { purposes: ['email', 'ads'] } : { campaign }, 'unsubscribe-page');
	const what = scope === 'all' ? 'any more emails from us, nor ads based on your visits' : `any more emails of this campaign (${escapeHtml(campaign)})`;
	return { status: 200, html: page(settings, 'Unsubscribed', `<p>Done: you will not get ${what}.</p>`), done: { profileId: profile.id, campaign, scope, source: 'unsubscribe-page' } };
}

function choices(token: string, campaign: string): string {
	const button = (scope: string, label: string) =>
		`<form method="post"><input type="hidden" name="t" value="${escapeHtml(token)}"><input type="hidden" name="scope" value="${scope}"><button type="submit">${label}</button></form>`;
	return [
		'<p>Which emails do you want to stop?</p>',
		button('campaign', `Only this campaign (${escapeHtml(campaign)})`),
		button('all', 'All emails, and ads based on my visits'),
	].join('\n');
}

function page(settings: UnsubscribePageSettings, title: string, body: string): string {
	const shop = settings.shopName ? escapeHtml(settings.shopName) : '';
	const back = settings.backUrl && /^https?:\/\//i.test(settings.backUrl) ? `<p><a href="${escapeHtml(settings.backUrl)}">Back to ${shop || 'the shop'}</a></p>` : '';
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}${shop ? ` · ${shop}` : ''}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}form{margin:.75rem 0}button{font:inherit;padding:.6rem 1rem;border:1px solid #888;border-radius:.4rem;background:#f4f4f4;cursor:pointer;width:100%}a{color:#0645ad}</style>
</head><body><h1>${escapeHtml(title)}</h1>${shop ? `<p>${shop}</p>` : ''}
${body}
${back}
</body></html>`;
}
