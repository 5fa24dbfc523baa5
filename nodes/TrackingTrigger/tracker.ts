import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface TrackerConfig {
	/** Withdraw ad consent in browsers that send Global Privacy Control. */
	gpc: boolean;
}

let source: string | undefined;

/** tracker.js with the node's settings in place; the endpoint and write key come from its own URL. */
export function trackerScript(config: TrackerConfig): string {
	source ??= readFileSync(path.join(__dirname, 'tracker', 'tracker.js'), 'utf8');
	return source.replace('/*RT_CONFIG*/ {}', JSON.stringify(config));
}

/** A 1×1 transparent GIF, the answer to a pixel hit. */
export const TRANSPARENT_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

export const NO_CACHE = {
	'Cache-Control': 'no-store, no-cache, must-revalidate, max-age=0',
	Pragma: 'no-cache',
	Expires: '0',
};
