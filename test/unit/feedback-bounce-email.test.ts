import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { readBounceEmail } from '../../nodes/shared/feedback/bounce-email.ts';
import { derivedEventId, type FeedbackReading } from '../../nodes/shared/feedback/model.ts';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'feedback', name));
const text = (name: string) => fixture(name).toString('utf8');

function okReading(reading: FeedbackReading) {
	if (!reading.ok) throw new Error(`refused ${reading.status}: ${reading.error}`);
	return reading;
}

/** What n8n's Email Trigger (IMAP) puts in `raw` in its RAW format: IMAP BODY[TEXT], the message without its top-level header. */
function bodyOnly(message: string): string {
	const normalized = message.replace(/\r\n/g, '\n');
	return normalized.slice(normalized.indexOf('\n\n') + 2);
}

describe('readBounceEmail: delivery status notifications (RFC 3464)', () => {
	it('reads a Postfix DSN: 5.1.1 → invalid_address, 5.2.1 → hard_bounce, with the original Message-ID and send key', () => {
		const reading = okReading(readBounceEmail(fixture('postfix-dsn-5.1.1.eml')));
		const common = {
			provider: 'smtp',
			at: '2025-01-14T08:12:33.000Z',
			providerMessageId: '<5a8e1f0c-3b7d-4c2a-9e61-2f4d8b7c6a10@shop.example>',
			sendKey: 'abandoned-cart:0f6c2b1e:step-1',
		};
		expect(reading.events).toEqual([
			{
				...common,
				id: derivedEventId('smtp', '<20250114081233.7E2C1B0A9F@mail.shop.example>', 'nobody@example.org'),
				kind: 'invalid_address',
				email: 'nobody@example.org',
				reason: 'smtp; 550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual mailbox table',
			},
			{
				...common,
				id: derivedEventId('smtp', '<20250114081233.7E2C1B0A9F@mail.shop.example>', 'closed@example.net'),
				kind: 'hard_bounce',
				email: 'closed@example.net',
				reason: 'smtp; 550 5.2.1 Mailbox disabled for this recipient',
			},
		]);
		expect(reading.ignored).toEqual([]);
	});

	it('reads a Postfix delay warning (4.2.2 mailbox full, Action delayed) as soft_bounce', () => {
		const reading = okReading(readBounceEmail(text('postfix-dsn-delayed-4.2.2.eml')));
		expect(reading.events).toEqual([
			{
				provider: 'smtp',
				id: derivedEventId('smtp', '<20250116122005.1D2E3F4A5B@mail.shop.example>', 'full@example.com'),
				kind: 'soft_bounce',
				email: 'full@example.com',
				at: '2025-01-16T12:20:05.000Z',
				providerMessageId: '<b7d2c9e4-8f1a-4e3b-a5c6-0d9e8f7a6b5c@shop.example>',
				sendKey: 'back-in-stock:77:step-1',
				reason: 'smtp; 452 4.2.2 Mailbox full',
			},
		]);
	});

	it('reads an Exchange-style DSN (CRLF, nested alternative, quoted-printable status, base64 headers): 5.1.10 → invalid_address', () => {
		const source = fixture('exchange-dsn-encoded.eml');
		expect(source.includes('\r\n')).toBe(true);
		const reading = okReading(readBounceEmail(source));
		expect(reading.events).toEqual([
			{
				provider: 'smtp',
				id: derivedEventId('smtp', '<2f3e4d5c-ndr-4b6a-9c8d-7e6f5a4b3c2d@PH0PR11MB5000.namprd11.prod.outlook.com>', 'jane.doe@contoso.example'),
				kind: 'invalid_address',
				email: 'jane.doe@contoso.example',
				at: '2025-01-17T14:03:27.000Z',
				providerMessageId: '<0c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e4f5@shop.example>',
				sendKey: 'order-shipped:A-10042:step-1',
				// Soft line break joined, =3D decoded.
				reason: 'smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup (score=0)',
			},
		]);
	});

	it('dates an event by its Last-Attempt-Date when the DSN gives one', () => {
		const source = text('postfix-dsn-delayed-4.2.2.eml').replace('Will-Retry-Until:', 'Last-Attempt-Date: Thu, 16 Jan 2025 13:19:58 +0100 (CET)\nWill-Retry-Until:');
		expect(okReading(readBounceEmail(source)).events[0].at).toBe('2025-01-16T12:19:58.000Z');
	});

	it('finds the report inside another multipart (a gateway that wrapped it)', () => {
		const dsn = text('postfix-dsn-5.1.1.eml');
		const [header, body] = [dsn.slice(0, dsn.indexOf('\n\n')), dsn.slice(dsn.indexOf('\n\n') + 2)];
		const reportType = /Content-Type: multipart\/report;[^\n]*\n\t[^\n]*/.exec(header)![0];
		const wrapped = [
			header.replace(reportType, 'Content-Type: multipart/mixed; boundary="outer-gw-1"'),
			'',
			'--outer-gw-1',
			'Content-Type: text/plain',
			'',
			'Scanned by the gateway.',
			'--outer-gw-1',
			reportType,
			'',
			body,
			'--outer-gw-1--',
			'',
		].join('\n');
		expect(okReading(readBounceEmail(wrapped)).events).toEqual(okReading(readBounceEmail(dsn)).events);
	});

	it('passes over recipients delivered, relayed or expanded, and reads a failure without Status by its SMTP code', () => {
		const source = text('postfix-dsn-5.1.1.eml').replace(
			/Final-Recipient: rfc822; nobody@example\.org[\s\S]*?(?=\n\n--)/,
			[
				'Final-Recipient: rfc822; ok@example.org\nAction: delivered\nStatus: 2.0.0',
				'Final-Recipient: rfc822; list@example.org\nAction: expanded\nStatus: 2.0.0',
				'Final-Recipient: rfc822; far@example.org\nAction: relayed\nStatus: 2.0.0',
				'Final-Recipient: rfc822; nostatus@example.org\nAction: failed\nDiagnostic-Code: smtp; 554 rejected',
				'Final-Recipient: rfc822; later@example.org\nAction: failed\nStatus: 4.4.7\nDiagnostic-Code: X-Postfix; delivery temporarily suspended',
			].join('\n\n'),
		);
		const reading = okReading(readBounceEmail(source));
		expect(reading.events.map((e) => [e.email, e.kind])).toEqual([
			['nostatus@example.org', 'hard_bounce'],
			['later@example.org', 'soft_bounce'],
		]);
		expect(reading.ignored.map((i) => i.index)).toEqual([0, 1, 2]);
		for (const { reason } of reading.ignored) expect(reason).not.toMatch(/@/);
	});
});

describe('readBounceEmail: feedback reports (RFC 5965)', () => {
	it('reads the RFC 5965 example (adapted) as a complaint from Original-Rcpt-To', () => {
		const reading = okReading(readBounceEmail(fixture('arf-abuse.eml')));
		expect(reading.events).toEqual([
			{
				provider: 'smtp',
				id: derivedEventId('smtp', '<arf-20050308-174036-0001@example.com>', 'user@example.com'),
				kind: 'complaint',
				email: 'user@example.com',
				at: '2005-03-08T21:40:36.000Z',
				// The example's Message-ID has no angle brackets: given them, the form nodemailer answers.
				providerMessageId: '<8787KJKJ3K4J3K4J3K4J3.mail@shop.example>',
				sendKey: 'newsletter:2005-03:user-42',
				reason: 'abuse',
			},
		]);
	});

	it('takes the original To when the report has no Original-Rcpt-To, and reads fraud as a complaint', () => {
		const source = text('arf-abuse.eml')
			.replace('Original-Rcpt-To: <user@example.com>\n', '')
			.replace('To: <Undisclosed Recipients>', 'To: "Jane Q." <jane@example.com>')
			.replace('Feedback-Type: abuse', 'Feedback-Type: fraud');
		expect(okReading(readBounceEmail(source)).events).toEqual([expect.objectContaining({ kind: 'complaint', email: 'jane@example.com', reason: 'fraud' })]);
	});

	it('passes over a report that names no recipient at all (redacted)', () => {
		const source = text('arf-abuse.eml').replace('Original-Rcpt-To: <user@example.com>\n', '');
		const reading = okReading(readBounceEmail(source));
		expect(reading.events).toEqual([]);
		expect(reading.ignored).toHaveLength(1);
	});

	it('passes over not-spam and auth-failure reports', () => {
		const notSpam = okReading(readBounceEmail(fixture('arf-not-spam.eml')));
		expect(notSpam.events).toEqual([]);
		expect(notSpam.ignored).toEqual([{ index: 0, reason: expect.stringContaining('not-spam') }]);
		const authFailure = okReading(readBounceEmail(text('arf-abuse.eml').replace('Feedback-Type: abuse', 'Feedback-Type: auth-failure')));
		expect(authFailure.events).toEqual([]);
	});
});

describe('readBounceEmail: other emails and sources', () => {
	it.each(['auto-reply.eml', 'qmail-undelivered-plain.eml'])('reads %s (no report parts) as nothing, whatever its words say', (name) => {
		const reading = okReading(readBounceEmail(fixture(name)));
		expect(reading.events).toEqual([]);
		expect(reading.ignored).toEqual([{ index: 0, reason: expect.stringContaining('RFC 3464') }]);
	});

	it('reads the same message alike as a Buffer, a string, base64 (wrapped or not) and base64url', () => {
		const source = fixture('postfix-dsn-5.1.1.eml');
		const expected = okReading(readBounceEmail(source));
		expect(expected.events).toHaveLength(2);
		const base64 = source.toString('base64');
		for (const form of [source.toString('utf8'), base64, base64.replace(/.{76}/g, '$&\r\n'), source.toString('base64url')]) {
			expect(readBounceEmail(form)).toEqual(expected);
		}
		const arf = fixture('arf-abuse.eml');
		expect(readBounceEmail(arf.toString('base64url'))).toEqual(readBounceEmail(arf));
	});

	it("reads n8n's RAW item (the body without the top-level header), its ids stable from read to read", () => {
		const full = okReading(readBounceEmail(fixture('postfix-dsn-5.1.1.eml')));
		const raw = bodyOnly(text('postfix-dsn-5.1.1.eml'));
		const first = okReading(readBounceEmail(raw));
		const pick = ({ kind, email, providerMessageId, sendKey, reason }: (typeof full.events)[number]) => ({ kind, email, providerMessageId, sendKey, reason });
		expect(first.events.map(pick)).toEqual(full.events.map(pick));
		expect(readBounceEmail(raw)).toEqual(first);
		expect(readBounceEmail(Buffer.from(raw).toString('base64url'))).toEqual(first);
		// No Message-ID nor Date without the header: ids come from the report itself, the time from the caller, else the arrival.
		expect(new Set(first.events.map((e) => e.id)).size).toBe(2);
		expect(first.events[0].at).toBe('2025-01-14T08:12:31.000Z');
		expect(okReading(readBounceEmail(raw, new Date('2025-01-14T08:15:00Z'))).events[0].at).toBe('2025-01-14T08:15:00.000Z');
		// CRLF bodies (Exchange) and feedback reports read the same way.
		expect(okReading(readBounceEmail(bodyOnly(text('exchange-dsn-encoded.eml')))).events).toEqual([expect.objectContaining({ kind: 'invalid_address', sendKey: 'order-shipped:A-10042:step-1' })]);
		expect(okReading(readBounceEmail(bodyOnly(text('arf-abuse.eml')))).events).toEqual([expect.objectContaining({ kind: 'complaint', email: 'user@example.com' })]);
		expect(okReading(readBounceEmail(bodyOnly(text('auto-reply.eml')))).events).toEqual([]);
	});

	it('gives two reports about the same recipient different ids, and one report the same id each time', () => {
		const a = okReading(readBounceEmail(fixture('postfix-dsn-delayed-4.2.2.eml'))).events[0].id;
		const again = okReading(readBounceEmail(fixture('postfix-dsn-delayed-4.2.2.eml'))).events[0].id;
		const later = okReading(readBounceEmail(text('postfix-dsn-delayed-4.2.2.eml').replace('<20250116122005.1D2E3F4A5B@mail.shop.example>', '<20250117122005.AAAAAAAAAA@mail.shop.example>'))).events[0].id;
		expect(again).toBe(a);
		expect(later).not.toBe(a);
	});

	it.each([
		['an empty string', ''],
		['blank lines', '\r\n\r\n  \n'],
		['a multipart report without a boundary', 'Content-Type: multipart/report; report-type=delivery-status\n\nbody\n'],
		['a multipart report whose boundary never appears', 'Content-Type: multipart/report; boundary="abc"\n\nno parts here\n'],
		['binary data', Buffer.from([0x00, 0x01, 0xff, 0x00, 0x10])],
	])('answers 400 for %s', (_name, source) => {
		expect(readBounceEmail(source as string | Buffer)).toMatchObject({ ok: false, status: 400 });
	});

	it('answers 400 for an item without a source (a field that is not there)', () => {
		expect(readBounceEmail(undefined as unknown as string)).toMatchObject({ ok: false, status: 400 });
	});
});
