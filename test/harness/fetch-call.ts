import type { HttpCall } from '../../nodes/shared/http.ts';

/** What n8n's authenticated request does for ESP Send and Banner Partner Push: the credential's header, JSON both ways. */
export function fetchCall(base: () => string, auth: Record<string, string>): HttpCall {
	return async ({ method, path, headers, body }) => {
		const res = await fetch(`${base()}${path}`, {
			method,
			headers: { 'content-type': 'application/json', accept: 'application/json', ...auth, ...headers },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await res.text();
		return { status: res.status, headers: Object.fromEntries(res.headers), body: text ? JSON.parse(text) : undefined };
	};
}
