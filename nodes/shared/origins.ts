/** The origins a list allows: comma- or line-separated, `*` for any, `https://*.example.com` for subdomains. */
export function parseOrigins(list: string): string[] {
	return list
		.split(/[\s,]+/)
		.map((o) => o.trim().replace(/\/+$/, '').toLowerCase())
		.filter(Boolean);
}

/**
 * Whether a browser page at `origin` may send events. An empty list allows every origin; requests
 * without an Origin header (servers, pixels in email clients) are not browsers' cross-site calls
 * and pass.
 */
export function originAllowed(origin: string | undefined, allowed: string[]): boolean {
	if (!origin || allowed.length === 0 || allowed.includes('*')) return true;
	const candidate = origin.toLowerCase();
	return allowed.some((entry) => {
		if (!entry.includes('*.')) return entry === candidate;
		const [scheme, host] = entry.split('*.');
		return candidate.startsWith(scheme) && candidate.slice(scheme.length).endsWith(`.${host}`);
	});
}
