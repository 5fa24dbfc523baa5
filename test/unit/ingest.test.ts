import { DEFAULT_FUTURE_MARGIN_MS, DEFAULT_LIMITS, eventOfQuery, eventsOfBody, ingest, startsExecution, type EventStore } from '../../nodes/shared/events/ingest.ts';
import { parseEvent, type TrackedEvent } from '../../nodes/shared/events/model.ts';
import { originAllowed, parseOrigins } from '../../nodes/shared/origins.ts';
import { signatureProblem, signBody } from '../../nodes/shared/secrets.ts';

/** A store that keeps what it is given and reports repeats as duplicates, like the real one. */
function memoryStore(): EventStore & { events: TrackedEvent[] } {
	const events: TrackedEvent[] = [];
	return {
		events,
		async appendEvents(batch) {
			const stored = [];
			const duplicates = [];
			for (const event of batch) {
				if (events.some((e) => e.messageId === event.messageId)) duplicates.push(event.messageId);
				else {
					events.push(event);
					stored.push({ messageId: event.messageId, profileId: `p-${event.anonymousId}` });
				}
			}
			return { stored, duplicates };
		},
	};
}

const facts = { gpc: false, dnt: false };
const options = { ipPolicy: 'truncate' as const, honourGpc: true, honourDnt: false, futureMarginMs: DEFAULT_FUTURE_MARGIN_MS };

describe('request bodies', () => {
	it('reads one event, and a batch with a shared context', () => {
		expect(eventsOfBody('{"type":"track","event":"A"}', DEFAULT_LIMITS)).toEqual({ ok: true, events: [{ type: 'track', event: 'A' }] });
		expect(eventsOfBody('{"batch":[{"type":"page","context":{"locale":"fr"}}],"context":{"ip":"1.2.3.4"}}', DEFAULT_LIMITS)).toEqual({
			ok: true,
			events: [{ type: 'page', context: { ip: '1.2.3.4', locale: 'fr' } }],
		});
	});

	it('answers each whole-request problem with its status and a reason', () => {
		expect(eventsOfBody('', DEFAULT_LIMITS)).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/empty/) });
		expect(eventsOfBody('{"type":', DEFAULT_LIMITS)).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/not valid JSON/) });
		expect(eventsOfBody('[1]', DEFAULT_LIMITS)).toMatchObject({ ok: false, status: 400 });
		expect(eventsOfBody('{"batch":{}}', DEFAULT_LIMITS)).toMatchObject({ ok: false, status: 400, message: 'batch: must be an array of events' });
		expect(eventsOfBody('{"batch":[{},{},{}]}', { maxBodyBytes: 1000, maxEvents: 2 })).toMatchObject({
			ok: false,
			status: 413,
			message: expect.stringMatching(/3 events; the limit is 2/),
		});
		expect(eventsOfBody(`{"x":"${'a'.repeat(2000)}"}`, { maxBodyBytes: 1024, maxEvents: 10 })).toMatchObject({ ok: false, status: 413 });
	});
});

describe('pixel hits', () => {
	it('turn query parameters into an event: ids, campaign, click ids and properties', () => {
		const raw = eventOfQuery({ writeKey: 'k', event: 'Email Opened', anonymousId: 'a', utm_campaign: 'spring', gclid: 'G1', step: '2' });
		expect(raw).toEqual({
			type: 'track',
			event: 'Email Opened',
			anonymousId: 'a',
			properties: { step: '2' },
			context: { campaign: { name: 'spring' }, clickIds: { gclid: 'G1' } },
		});
		expect(parseEvent(raw).ok).toBe(true);
	});
});

describe('ingest', () => {
	it('keeps the valid events of a batch and reports each rejected one with its reason', async () => {
		const store = memoryStore();
		const events = [
			{ type: 'track', event: 'A', anonymousId: 'x', messageId: 'm1' },
			{ type: 'track', anonymousId: 'x', messageId: 'm2' },
			{ type: 'track', event: 'A', anonymousId: 'x', messageId: 'm1' },
		];
		const { report, stored } = await ingest(store, events, facts, options);
		expect(report).toEqual({
			accepted: 1,
			duplicates: 1,
			rejected: 1,
			rejections: [{ index: 1, messageId: 'm2', errors: [{ field: 'event', reason: 'a track call needs the event name' }] }],
		});
		expect(stored.map((s) => [s.event.messageId, s.profileId])).toEqual([['m1', 'p-x']]);
	});

	it("corrects a device clock that is off, from the batch's sentAt (as Segment does)", async () => {
		const store = memoryStore();
		const receivedAt = new Date('2026-11-23T12:00:00.000Z');
		// The device clock is 3 hours behind: it sent the batch at 09:00:00 by its clock, 1 s after the event.
		const body = eventsOfBody(
			JSON.stringify({ sentAt: '2026-11-23T09:00:00.000Z', batch: [{ type: 'page', anonymousId: 'x', timestamp: '2026-11-23T08:59:59.000Z' }] }),
			DEFAULT_LIMITS,
		);
		if (!body.ok) throw new Error(body.message);
		await ingest(store, body.events, facts, options, receivedAt);
		expect(store.events[0].timestamp).toBe('2026-11-23T11:59:59.000Z');
	});

	it("dates an event by RudderStack's originalTimestamp when it has no timestamp, corrected from sentAt too", async () => {
		const store = memoryStore();
		const receivedAt = new Date('2026-11-23T12:00:00.000Z');
		const body = eventsOfBody(
			JSON.stringify({
				batch: [
					{ type: 'track', event: 'Product Viewed', anonymousId: 'x', originalTimestamp: '2026-11-23T11:30:00.000Z' },
					{ type: 'track', event: 'Product Viewed', anonymousId: 'x', originalTimestamp: '2026-11-23T08:59:00.000Z', sentAt: '2026-11-23T09:00:00.000Z' },
				],
			}),
			DEFAULT_LIMITS,
		);
		if (!body.ok) throw new Error(body.message);
		await ingest(store, body.events, facts, options, receivedAt);
		expect(store.events.map((e) => e.timestamp)).toEqual(['2026-11-23T11:30:00.000Z', '2026-11-23T11:59:00.000Z']);
	});

	describe('an event dated in the future', () => {
		const receivedAt = new Date('2026-11-23T12:00:00.000Z');
		const ingestBody = async (body: unknown, margin = options.futureMarginMs) => {
			const store = memoryStore();
			const read = eventsOfBody(JSON.stringify(body), DEFAULT_LIMITS);
			if (!read.ok) throw new Error(read.message);
			const { report } = await ingest(store, read.events, facts, { ...options, futureMarginMs: margin }, receivedAt);
			return { report, events: store.events };
		};
		const page = (messageId: string, timestamp: string) => ({ type: 'page', anonymousId: 'x', messageId, timestamp });

		it('is stored at its receipt time beyond the margin (one hour by default), with the time it was sent with kept and noted', async () => {
			const { report, events } = await ingestBody({
				batch: [page('over', '2026-11-23T13:00:01.000Z'), page('under', '2026-11-23T13:00:00.000Z'), page('days', '2026-11-27T12:00:00+02:00')],
			});
			expect(events.map((e) => [e.messageId, e.timestamp, e.originalTimestamp])).toEqual([
				['over', '2026-11-23T12:00:00.000Z', '2026-11-23T13:00:01.000Z'],
				['under', '2026-11-23T13:00:00.000Z', undefined],
				['days', '2026-11-23T12:00:00.000Z', '2026-11-27T12:00:00+02:00'],
			]);
			expect(report).toMatchObject({ accepted: 3, rejected: 0 });
			expect(report.notes).toEqual([
				{ index: 0, messageId: 'over', note: 'timestamp in the future by 1h; stored at receipt time' },
				{ index: 2, messageId: 'days', note: 'timestamp in the future by 4d; stored at receipt time' },
			]);
		});

		it("is judged after the clock-skew correction from the batch's sentAt", async () => {
			// The device clock is 3 hours behind (sentAt 09:00 at 12:00): its 10:00 is 13:00, its 11:30 is 14:30.
			const { report, events } = await ingestBody({
				sentAt: '2026-11-23T09:00:00.000Z',
				batch: [page('under', '2026-11-23T10:00:00.000Z'), page('over', '2026-11-23T10:00:01.000Z'), page('far', '2026-11-23T11:30:00.000Z')],
			});
			expect(events.map((e) => [e.messageId, e.timestamp, e.originalTimestamp])).toEqual([
				['under', '2026-11-23T13:00:00.000Z', undefined],
				['over', '2026-11-23T12:00:00.000Z', '2026-11-23T10:00:01.000Z'],
				['far', '2026-11-23T12:00:00.000Z', '2026-11-23T11:30:00.000Z'],
			]);
			expect(report.notes).toEqual([
				{ index: 1, messageId: 'over', note: 'timestamp in the future by 1h; stored at receipt time' },
				{ index: 2, messageId: 'far', note: 'timestamp in the future by 2h30min; stored at receipt time' },
			]);
		});

		it('takes the margin it is given, and an ordinary answer has no notes', async () => {
			const tight = await ingestBody(page('soon', '2026-11-23T12:05:00.000Z'), 60_000);
			expect(tight.events[0]).toMatchObject({ timestamp: '2026-11-23T12:00:00.000Z', originalTimestamp: '2026-11-23T12:05:00.000Z' });
			expect(tight.report.notes).toEqual([{ index: 0, messageId: 'soon', note: 'timestamp in the future by 5min; stored at receipt time' }]);
			const past = await ingestBody(page('past', '2026-11-23T11:00:00.000Z'));
			expect(past.report).toEqual({ accepted: 1, duplicates: 0, rejected: 0, rejections: [] });
		});
	});

	it('fills IP and user agent from the request, truncating the IP', async () => {
		const store = memoryStore();
		await ingest(store, [{ type: 'page', anonymousId: 'x' }], { ...facts, ip: '203.0.113.77', userAgent: 'UA/1' }, options);
		expect(store.events[0].context).toMatchObject({ ip: '203.0.113.0', userAgent: 'UA/1' });
	});

	it('withdraws ad consent on Global Privacy Control, and on Do Not Track only when told to', async () => {
		const store = memoryStore();
		await ingest(store, [{ type: 'page', anonymousId: 'g', messageId: 'g1' }], { ...facts, gpc: true }, options);
		await ingest(store, [{ type: 'page', anonymousId: 'g', messageId: 'g2', context: { gpc: true } }], facts, options);
		await ingest(store, [{ type: 'page', anonymousId: 'd', messageId: 'd1' }], { ...facts, dnt: true }, options);
		await ingest(store, [{ type: 'page', anonymousId: 'd', messageId: 'd2' }], { ...facts, dnt: true }, { ...options, honourDnt: true });
		await ingest(store, [{ type: 'page', anonymousId: 'n', messageId: 'n1' }], { ...facts, gpc: true }, { ...options, honourGpc: false });
		expect(store.events.map((e) => [e.messageId, e.context.consent?.ads])).toEqual([
			['g1', false],
			['g2', false],
			['d1', undefined],
			['d2', false],
			['n1', undefined],
		]);
	});

	it('stores no behaviour of a person who refused analytics, only the refusal', async () => {
		const store = memoryStore();
		await ingest(
			store,
			[{ type: 'track', event: 'Product Viewed', anonymousId: 'r', properties: { product_id: 'p' }, context: { consent: { analytics: false }, page: { url: 'https://s.test/p' } } }],
			facts,
			options,
		);
		expect(store.events[0]).toMatchObject({ event: 'Product Viewed', properties: {}, context: { consent: { analytics: false } } });
		expect(store.events[0].context.page).toBeUndefined();
	});
});

describe('which events start an execution', () => {
	const event = (raw: Record<string, unknown>) => {
		const parsed = parseEvent({ anonymousId: 'a', ...raw });
		if (!parsed.ok) throw new Error('invalid');
		return parsed.event;
	};
	it('matches track names, call types, and "any event"', () => {
		const selected = new Set(['Checkout Started', 'identify']);
		expect(startsExecution(event({ type: 'track', event: 'checkout_started' }), selected)).toBe(true);
		expect(startsExecution(event({ type: 'identify' }), selected)).toBe(true);
		expect(startsExecution(event({ type: 'track', event: 'Product Viewed' }), selected)).toBe(false);
		expect(startsExecution(event({ type: 'page' }), selected)).toBe(false);
		expect(startsExecution(event({ type: 'page' }), new Set(['*']))).toBe(true);
	});
});

describe('allowed origins', () => {
	it('allows listed origins, subdomains of a wildcard, and requests without an origin', () => {
		const list = parseOrigins('https://shop.example.com/, https://*.brand.com');
		expect(originAllowed('https://shop.example.com', list)).toBe(true);
		expect(originAllowed('https://www.brand.com', list)).toBe(true);
		expect(originAllowed('https://evilbrand.com', list)).toBe(false);
		expect(originAllowed('http://www.brand.com', list)).toBe(false);
		expect(originAllowed('https://other.example.com', list)).toBe(false);
		expect(originAllowed(undefined, list)).toBe(true);
		expect(originAllowed('https://anything.test', parseOrigins(''))).toBe(true);
	});
});

describe('HMAC signatures', () => {
	const body = '{"type":"track"}';
	const now = 1_800_000_000;
	it('accepts the signature of the exact body within the window', () => {
		expect(signatureProblem(signBody(body, 's3cret', now), body, 's3cret', now + 299)).toBeUndefined();
	});
	it('refuses a missing header, another secret, a changed body and an old timestamp', () => {
		expect(signatureProblem(undefined, body, 's3cret', now)).toMatch(/missing/);
		expect(signatureProblem(signBody(body, 'other', now), body, 's3cret', now)).toMatch(/does not match/);
		expect(signatureProblem(signBody(body, 's3cret', now), `${body} `, 's3cret', now)).toMatch(/does not match/);
		expect(signatureProblem(signBody(body, 's3cret', now), body, 's3cret', now + 301)).toMatch(/300 seconds/);
		expect(signatureProblem('v1=abc', body, 's3cret', now)).toMatch(/no timestamp/);
	});
	it('has a known value (HMAC-SHA256 of "t.body", computed with openssl)', () => {
		// printf '1800000000.{"type":"track"}' | openssl dgst -sha256 -hmac s3cret
		expect(signBody(body, 's3cret', now)).toBe(`t=${now},v1=${EXPECTED}`);
	});
});
const EXPECTED = 'f9fc5ae296d70f367a431ccb30e666647bf4f9f25fc8d2f235ef14caefe2e629';
