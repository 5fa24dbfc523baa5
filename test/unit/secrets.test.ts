import { basicAuthUser, secretsMatch, writeKeyProblem } from '../../nodes/shared/secrets.ts';

describe('secretsMatch', () => {
	it('accepts the exact secret', () => {
		expect(secretsMatch('wk_0123456789abcdef', 'wk_0123456789abcdef')).toBe(true);
	});

	it.each([
		['a different secret of the same length', 'wk_0123456789abcdeX'],
		['a prefix of the secret', 'wk_0123'],
		['the secret with more after it', 'wk_0123456789abcdef0'],
		['an empty string', ''],
		['the secret in another case', 'WK_0123456789ABCDEF'],
	])('refuses %s', (_label, presented) => {
		expect(secretsMatch(presented, 'wk_0123456789abcdef')).toBe(false);
	});

	it('refuses everything when no secret is configured, even an empty one', () => {
		expect(secretsMatch('', '')).toBe(false);
	});
});

describe('basicAuthUser', () => {
	const header = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

	it('reads the user name of a Segment-style header (write key, empty password)', () => {
		expect(basicAuthUser(header('wk_live_123:'))).toBe('wk_live_123');
	});

	it('reads the user name when a password is given too', () => {
		expect(basicAuthUser(header('wk_live_123:ignored:colons'))).toBe('wk_live_123');
	});

	it('takes the whole value when there is no colon', () => {
		expect(basicAuthUser(header('wk_live_123'))).toBe('wk_live_123');
	});

	it.each([undefined, '', 'Bearer abc', 'Basic', 'Basic !!!not-base64!!!'])('finds no user in %p', (value) => {
		expect(basicAuthUser(value)).toBeUndefined();
	});
});

describe('writeKeyProblem', () => {
	it('accepts a long key without spaces', () => {
		expect(writeKeyProblem('wk_4f9c2a71d0e8b3c6')).toBeUndefined();
	});

	it('names the length rule for a short key', () => {
		expect(writeKeyProblem('short')).toMatch(/at least 16 characters/);
	});

	it('names the spaces rule', () => {
		expect(writeKeyProblem('a key with some spaces in it')).toMatch(/spaces/);
	});
});
