import { MAX_EVENT_BYTES, parseEvent, truncateIp } from '../../nodes/shared/events/model.ts';
import { canonicalEventName } from '../../nodes/shared/events/vocabulary.ts';

const receivedAt = new Date('2026-11-23T12:00:00.000Z');

function errorsOf(input: unknown) {
	const result = parseEvent(input, { receivedAt });
	if (result.ok) throw new Error('expected the event to be rejected');
	return result.errors;
}

function accepted(input: unknown, options = {}) {
	const result = parseEvent(input, { receivedAt, ...options });
	if (!result.ok) throw new Error(JSON.stringify(result.errors));
	return result.event;
}

describe('parseEvent', () => {
	it('rejects a NUL character (PostgreSQL cannot store it) and names where it is, but keeps the text "\\u0000"', () => {
		const result = parseEvent({ type: 'track', event: 'A', anonymousId: 'a', properties: { items: [{ name: 'x\u0000y' }] } });
		expect(result).toMatchObject({ ok: false, errors: [{ field: 'properties.items[0].name', reason: 'must not contain the NUL character (\\u0000)' }] });
		expect(accepted({ type: 'track', event: 'A', anonymousId: 'a', properties: { note: 'a \\u0000 b' } }).properties.note).toBe('a \\u0000 b');
	});

	it('accepts a Segment track call and returns the stored shape', () => {
		const event = accepted({
			type: 'track',
			event: 'Product Added',
			messageId: 'm-1',
			anonymousId: 'a-1',
			timestamp: '2026-11-23T11:59:00+01:00',
			properties: { product_id: 'p1', price: 12.5, quantity: 2, currency: 'EUR' },
		});
		expect(event).toEqual({
			messageId: 'm-1',
			type: 'track',
			event: 'Product Added',
			anonymousId: 'a-1',
			userId: null,
			previousId: null,
			groupId: null,
			timestamp: '2026-11-23T10:59:00.000Z',
			receivedAt: '2026-11-23T12:00:00.000Z',
			properties: { product_id: 'p1', price: 12.5, quantity: 2, currency: 'EUR' },
			traits: {},
			context: {},
		});
	});

	it('gives an event without messageId one, and without timestamp the time it was received', () => {
		const event = accepted({ type: 'page', userId: 42 });
		expect(event.messageId).toMatch(/^[0-9a-f-]{36}$/);
		expect(event.timestamp).toBe(receivedAt.toISOString());
		expect(event.userId).toBe('42');
	});

	it.each([
		['a string', 'hello', '(event)', 'must be a JSON object'],
		['an array', [{ type: 'track' }], '(event)', 'must be a JSON object'],
		['null', null, '(event)', 'must be a JSON object'],
	])('rejects %s', (_label, input, field, reason) => {
		expect(errorsOf(input)).toEqual([{ field, reason }]);
	});

	it('names each wrong field and the reason', () => {
		expect(
			errorsOf({
				type: 'track',
				event: 'Order Completed',
				anonymousId: 'a',
				timestamp: 'yesterday',
				properties: { revenue: '12.00', currency: 'euro', products: [{ product_id: 'p', price: 'free', quantity: 1.5 }] },
			}),
		).toEqual(
			expect.arrayContaining([
				{ field: 'timestamp', reason: 'must be an ISO 8601 date-time' },
				{ field: 'properties.revenue', reason: 'must be a number' },
				{ field: 'properties.currency', reason: 'must be a three-letter ISO 4217 code such as EUR' },
				{ field: 'properties.products[0].price', reason: 'must be a number' },
				{ field: 'properties.products[0].quantity', reason: 'must be a whole number' },
			]),
		);
	});

	it('rejects an unknown call type, a track without name, and an event from nobody', () => {
		expect(errorsOf({ type: 'screen', userId: 'u' })).toEqual([
			{ field: 'type', reason: 'must be one of track, identify, page, alias, group' },
		]);
		expect(errorsOf({ type: 'track', userId: 'u' })).toEqual([
			{ field: 'event', reason: 'a track call needs the event name' },
		]);
		expect(errorsOf({ type: 'track', event: 'X' })).toEqual([
			{ field: 'userId', reason: 'an event needs an anonymousId or a userId' },
		]);
		expect(errorsOf({ type: 'alias', userId: 'u' })).toEqual([
			{ field: 'previousId', reason: 'an alias call needs the previousId it merges' },
		]);
	});

	it('rejects wrong types in ids, properties and context', () => {
		expect(errorsOf({ type: 'track', event: 'X', userId: { id: 1 }, properties: 'a', context: { consent: { email: 'yes' } } })).toEqual(
			expect.arrayContaining([
				expect.objectContaining({ field: 'userId' }),
				expect.objectContaining({ field: 'properties' }),
				expect.objectContaining({ field: 'context.consent.email' }),
			]),
		);
	});

	it('rejects an event over 32 KB and says the size', () => {
		const [error] = errorsOf({ type: 'track', event: 'Big', userId: 'u', properties: { blob: 'x'.repeat(MAX_EVENT_BYTES) } });
		expect(error.field).toBe('(event)');
		expect(error.reason).toMatch(/^is \d+ bytes; the limit is 32768 bytes$/);
	});

	it('keeps custom event names, and spells e-commerce names as the spec does', () => {
		expect(accepted({ type: 'track', event: 'Webinar Registered', userId: 'u' }).event).toBe('Webinar Registered');
		expect(accepted({ type: 'track', event: 'order_completed', userId: 'u' }).event).toBe('Order Completed');
		expect(canonicalEventName('  checkout started ')).toBe('Checkout Started');
	});

	it('does not check e-commerce property types on custom events', () => {
		expect(accepted({ type: 'track', event: 'Quote Requested', userId: 'u', properties: { revenue: 'n/a' } }).properties).toEqual({
			revenue: 'n/a',
		});
	});

	it('fills UTM fields and click ids from the page URL, without overriding what was sent', () => {
		const event = accepted({
			type: 'page',
			anonymousId: 'a',
			context: {
				page: { url: 'https://shop.test/p?utm_source=newsletter&utm_medium=email&utm_campaign=winback&gclid=G-1&fbclid=F-1' },
				campaign: { source: 'sent-source' },
			},
		});
		expect(event.context.campaign).toEqual({ source: 'sent-source', medium: 'email', name: 'winback' });
		expect(event.context.clickIds).toEqual({ gclid: 'G-1', fbclid: 'F-1' });
	});

	it('handles the IP address per the privacy setting', () => {
		const raw = { type: 'page', anonymousId: 'a', context: { ip: '203.0.113.77' } };
		expect(accepted(raw).context.ip).toBe('203.0.113.0');
		expect(accepted(raw, { ipPolicy: 'keep' }).context.ip).toBe('203.0.113.77');
		expect(accepted(raw, { ipPolicy: 'drop' }).context).not.toHaveProperty('ip');
		expect(truncateIp('2001:db8:85a3:8d3:1319:8a2e:370:7348')).toBe('2001:db8:85a3::');
	});
});
