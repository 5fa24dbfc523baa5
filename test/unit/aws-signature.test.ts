import { signAwsRequest } from '../../nodes/shared/delivery/aws-signature.ts';

// AWS's Signature Version 4 test suite: its example keys, time, region and service, and the
// signatures it publishes for each request (computed by AWS, not by this code).
const KEYS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SCOPE = { region: 'us-east-1', service: 'service' };
const AT = new Date('2015-08-30T12:36:00Z');
const authorization = (signature: string) =>
	`AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signature}`;

describe('AWS Signature Version 4', () => {
	it('signs the suite\'s "get-vanilla" request as AWS does', () => {
		expect(signAwsRequest({ method: 'GET', url: 'https://example.amazonaws.com/' }, KEYS, SCOPE, AT)).toEqual({
			'x-amz-date': '20150830T123600Z',
			authorization: authorization('5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'),
		});
	});

	it('signs "post-vanilla" (an empty body hashes as the empty string)', () => {
		expect(signAwsRequest({ method: 'POST', url: 'https://example.amazonaws.com/' }, KEYS, SCOPE, AT).authorization).toBe(
			authorization('5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b'),
		);
	});

	it('sorts the query by name before signing ("get-vanilla-query-order-key-case")', () => {
		expect(signAwsRequest({ method: 'GET', url: 'https://example.amazonaws.com/?Param2=value2&Param1=value1' }, KEYS, SCOPE, AT).authorization).toBe(
			authorization('b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500'),
		);
	});

	it('signs the headers it is given, lowercased and sorted, and the session token of temporary credentials', () => {
		const headers = signAwsRequest(
			{ method: 'POST', url: 'http://127.0.0.1:8080/v2/email/outbound-emails', headers: { 'Content-Type': 'application/json' }, body: '{}' },
			{ ...KEYS, sessionToken: 'token' },
			{ region: 'eu-west-1', service: 'ses' },
			AT,
		);
		expect(headers['x-amz-security-token']).toBe('token');
		expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/eu-west-1\/ses\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/);
		const otherBody = signAwsRequest({ method: 'POST', url: 'http://127.0.0.1:8080/v2/email/outbound-emails', headers: { 'Content-Type': 'application/json' }, body: '{ }' }, { ...KEYS, sessionToken: 'token' }, { region: 'eu-west-1', service: 'ses' }, AT);
		expect(otherBody.authorization).not.toBe(headers.authorization);
	});
});
