import { type IDataObject, type IExecuteFunctions, type JsonObject, NodeApiError } from 'n8n-workflow';

import type { HttpCall } from './http';

/**
 * HTTP calls to `base` through n8n's authenticated request with the node's `credential`: JSON both
 * ways, every status answered as it came. A 401 alone throws inside n8n, so that n8n renews an
 * OAuth2 token and makes the call again; if the answer is still 401, it is handed back with the
 * partner's own body. No answer at all (a network error) throws.
 */
export function authenticatedCall(ctx: IExecuteFunctions, credential: string, base: string, extraHeaders: Record<string, string> = {}): HttpCall {
	return async ({ method, path, headers, body }) => {
		try {
			const response = (await ctx.helpers.httpRequestWithAuthentication.call(ctx, credential, {
				method,
				url: `${base}${path}`,
				body: body as IDataObject | undefined,
				json: true,
				headers: { Accept: 'application/json', ...headers, ...extraHeaders },
				returnFullResponse: true,
				ignoreHttpStatusErrors: { ignore: true, except: [401] },
			})) as { statusCode: number; headers: Record<string, unknown>; body: unknown };
			return { status: response.statusCode, headers: response.headers, body: response.body };
		} catch (error) {
			if (Number((error as { httpCode?: string }).httpCode) === 401) {
				const { context, cause } = error as { context?: { data?: unknown }; cause?: { response?: { data?: unknown; headers?: Record<string, unknown> } } };
				return { status: 401, headers: cause?.response?.headers ?? {}, body: context?.data ?? cause?.response?.data };
			}
			throw error instanceof NodeApiError ? error : new NodeApiError(ctx.getNode(), error as JsonObject);
		}
	};
}
