import { createHmac, randomBytes } from 'node:crypto';

import { readUnsubscribeToken, signUnsubscribeToken, unsubscribeLink } from '../../nodes/shared/feedback/unsubscribe-token.ts';

const key = randomBytes(24).toString('hex');
const claim = { profileId: '0193a5c4-7e21-7c4b-9d2e-5f1a2b3c4d5e', campaign: 'cart-recovery' };

describe('unsubscribe tokens', () => {
	it('read back the person and campaign they were signed for; carry no address', () => {
		const token = signUnsubscribeToken(key, claim);
		expect(readUnsubscribeToken(key, token)).toEqual({ ok: true, claim });
		expect(token).not.toContain('@');
	});

	it('are an HMAC-SHA256 of the payload, checked independently', () => {
		const [version, payload, signature] = signUnsubscribeToken(key, claim).split('.');
		expect(version).toBe('u1');
		expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toEqual({ p: claim.profileId, c: claim.campaign });
		expect(signature).toBe(createHmac('sha256', key).update(`u1.${payload}`).digest('base64url'));
	});

	it.each([
		['signed with another key', () => signUnsubscribeToken(randomBytes(24).toString('hex'), claim)],
		['naming someone else with the old signature', () => {
			const [v, , s] = signUnsubscribeToken(key, claim).split('.');
			return [v, Buffer.from(JSON.stringify({ p: 'someone-else', c: 'cart-recovery' })).toString('base64url'), s].join('.');
		}],
		['cut short', () => signUnsubscribeToken(key, claim).slice(0, -5)],
		['without its signature', () => signUnsubscribeToken(key, claim).split('.').slice(0, 2).join('.')],
		['of another version', () => signUnsubscribeToken(key, claim).replace(/^u1/, 'u2')],
		['empty', () => ''],
	])('are refused when %s, without saying which part was wrong', (_label, token) => {
		expect(readUnsubscribeToken(key, token())).toEqual({ ok: false, problem: expect.stringMatching(/not valid/) });
	});

	it('make a link on the unsubscribe page URL, keeping its own query', () => {
		const link = new URL(unsubscribeLink('https://n8n.example.com/webhook/unsubscribe?lang=fr', key, claim));
		expect(link.searchParams.get('lang')).toBe('fr');
		expect(readUnsubscribeToken(key, link.searchParams.get('t')!)).toEqual({ ok: true, claim });
	});
});
