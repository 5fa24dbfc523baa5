import { derivedEventId, type FeedbackEvent, type FeedbackKind, type FeedbackReading, type IgnoredEvent } from './model';
import { isoDate, passedOver, refuse } from './payload';

/**
 * Bounces and complaints that come back as emails, for plain SMTP: a delivery status notification
 * (RFC 3464, `multipart/report; report-type=delivery-status`) or an abuse feedback report
 * (RFC 5965, `multipart/report; report-type=feedback-report`), read from a mailbox by n8n's
 * Email Trigger (IMAP). Only those machine-readable parts are read; an email without them (an
 * auto-reply, a bounce in free text only) changes nothing, as its words would have to be guessed.
 *
 * The source is taken as n8n hands it over or as stored: the whole RFC 822 message, or its body
 * alone (the trigger's "RAW" format fetches IMAP BODY[TEXT], the message without its top-level
 * header, as a UTF-8 string in `raw`; its description calls it base64url), plain or base64 /
 * base64url encoded, as a string or a Buffer.
 *
 * MIME is read by hand, with only what these reports need: headers (folded lines), multipart
 * boundaries (nested), and the base64 and quoted-printable transfer encodings.
 */

/** One MIME entity: its header fields (lower-case names, unfolded values) and its raw body. */
interface Entity {
	headers: Map<string, string[]>;
	body: string;
}

interface ContentType {
	type: string;
	params: Record<string, string>;
}

const DELIVERY_STATUS = new Set(['message/delivery-status', 'message/global-delivery-status']);
const FEEDBACK_REPORT = 'message/feedback-report';
/** The returned original message, whole or its header only. */
const ORIGINAL_TYPES = new Set(['message/rfc822', 'message/global', 'text/rfc822-headers', 'message/global-headers']);

/** Enhanced status codes (RFC 3463) that say the address itself is wrong: X.1.0 other address, X.1.1 no such mailbox, X.1.2 no such domain, X.1.3 bad syntax, X.1.10 null MX. */
const INVALID_ADDRESS_STATUS = /^5\.1\.(0|1|2|3|10)$/;
/** Feedback types (RFC 5965 and IANA's MARF registry) that are a complaint about the message. */
const COMPLAINT_TYPES = new Set(['abuse', 'fraud', 'virus', 'other']);

const MAX_DEPTH = 8;
const MAX_REASON = 500;

/**
 * Reads one bounce or complaint email. `receivedAt` (when the mailbox got it, if the caller knows)
 * dates an event whose report carries no date of its own.
 */
export function readBounceEmail(source: string | Buffer, receivedAt?: Date): FeedbackReading {
	const text = sourceText(source);
	if (text === undefined) return refuse(400, 'No email source: a string or Buffer holding the message (RFC 822, plain or base64) was expected.');
	if (!text.trim()) return refuse(400, 'The email source is empty.');
	if (text.includes('\u0000')) return refuse(400, 'The email source is not text (it holds NUL bytes); the RFC 822 message, plain or base64, was expected.');

	const message = parseEntity(text);
	const report = findReport(message);
	if (report === 'malformed') return refuse(400, 'The email is multipart but its parts cannot be found (boundary missing or never used).');
	if (!report) return passedOver('not a delivery status notification (RFC 3464) nor a feedback report (RFC 5965); nothing is read from free text');

	const reportText = decodeBody(report.part);
	const original = report.original ? parseEntity(decodeBody(report.original)).headers : undefined;
	const fromOriginal = original ? originalFields(original) : {};
	const context: ReportContext = {
		// Read without its header (n8n's RAW format), the email has no Message-ID: its report part,
		// which names the reporting MTA, its queue or arrival time and the recipients, stands in.
		reportId: first(message.headers, 'message-id') ?? `report:${fromOriginal.providerMessageId ?? ''}\n${reportText}`,
		reportDate: dateOf(first(message.headers, 'date')),
		receivedAt: receivedAt ? isoDate(receivedAt) : undefined,
		...fromOriginal,
	};
	return report.kind === 'dsn' ? readDsn(reportText, context) : readArf(reportText, original, context);
}

// ---- the source ----

/** The message text, decoded from base64 / base64url when it is wholly that. */
function sourceText(source: unknown): string | undefined {
	let text: string;
	if (Buffer.isBuffer(source)) text = source.toString('utf8');
	else if (typeof source === 'string') text = source;
	else return undefined;
	const compact = text.replace(/\s+/g, '');
	if (compact.length >= 16 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) {
		const decoded = Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
		// Taken as the message only if it reads as one: header fields or MIME boundaries, no NUL bytes.
		if (!decoded.includes('\u0000') && /^[!-9;-~]+:|^--\S/m.test(decoded)) text = decoded;
	}
	return text.replace(/\r\n?/g, '\n');
}

// ---- MIME ----

const FIELD_LINE = /^([!-9;-~]+):[ \t]*(.*)$/;

/**
 * Splits an entity into header and body. A text that does not start with a header field (after a
 * possible mbox "From " line) has no header: the body of a message fetched without it.
 */
function parseEntity(text: string): Entity {
	const lines = text.split('\n');
	let i = lines[0]?.startsWith('From ') && !FIELD_LINE.test(lines[0]) ? 1 : 0;
	if (lines[i] === undefined || lines[i].startsWith('--') || !FIELD_LINE.test(lines[i])) {
		// A part that begins with a blank line has an empty header; text that is no header at all is body.
		return { headers: new Map(), body: lines[i] === '' ? lines.slice(i + 1).join('\n') : lines.slice(i).join('\n') };
	}
	const headerLines: string[] = [];
	for (; i < lines.length && lines[i] !== ''; i++) headerLines.push(lines[i]);
	return { headers: parseHeaders(headerLines), body: lines.slice(i + 1).join('\n') };
}

/** Header fields, folded lines joined; lines that are neither a field nor a continuation are skipped. */
function parseHeaders(lines: string[]): Map<string, string[]> {
	const headers = new Map<string, string[]>();
	let current: { name: string; value: string } | undefined;
	const flush = () => {
		if (!current) return;
		const values = headers.get(current.name) ?? [];
		values.push(current.value.replace(/\s+/g, ' ').trim());
		headers.set(current.name, values);
		current = undefined;
	};
	for (const line of lines) {
		if (/^[ \t]/.test(line)) {
			if (current) current.value += ` ${line.trim()}`;
			continue;
		}
		flush();
		const match = FIELD_LINE.exec(line);
		if (match) current = { name: match[1].toLowerCase(), value: match[2] };
	}
	flush();
	return headers;
}

function first(headers: Map<string, string[]>, name: string): string | undefined {
	const value = headers.get(name)?.[0];
	return value ? value : undefined;
}

function contentType(entity: Entity): ContentType | undefined {
	const value = first(entity.headers, 'content-type');
	if (!value) return undefined;
	const [type, ...rest] = splitParams(value);
	const params: Record<string, string> = {};
	for (const param of rest) {
		const eq = param.indexOf('=');
		if (eq <= 0) continue;
		let v = param.slice(eq + 1).trim();
		if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
		params[param.slice(0, eq).trim().toLowerCase()] = v;
	}
	return { type: type.trim().toLowerCase(), params };
}

/** Splits `type; a=1; b="x;y"` on the semicolons outside quotes. */
function splitParams(value: string): string[] {
	const parts: string[] = [];
	let current = '';
	let quoted = false;
	for (let i = 0; i < value.length; i++) {
		const c = value[i];
		if (c === '\\' && quoted && i + 1 < value.length) {
			current += c + value[++i];
			continue;
		}
		if (c === '"') quoted = !quoted;
		if (c === ';' && !quoted) {
			parts.push(current);
			current = '';
		} else current += c;
	}
	parts.push(current);
	return parts;
}

/** The parts of a multipart body, or undefined when the boundary never opens a part. */
function splitMultipart(body: string, boundary: string): Entity[] | undefined {
	const delimiter = `--${boundary}`;
	const parts: Entity[] = [];
	let current: string[] | undefined;
	for (const line of body.split('\n')) {
		if (line.startsWith(delimiter)) {
			const rest = line.slice(delimiter.length);
			const closing = rest.startsWith('--');
			if (!(closing ? rest.slice(2) : rest).trim()) {
				if (current) parts.push(parseEntity(current.join('\n')));
				current = closing ? undefined : [];
				if (closing) break;
				continue;
			}
		}
		current?.push(line);
	}
	if (current) parts.push(parseEntity(current.join('\n')));
	return parts.length ? parts : undefined;
}

/**
 * The boundary of a multipart body read without its header: a delimiter line's, preferring one
 * whose closing delimiter (`--boundary--`) is there too, else the first.
 */
function guessBoundary(body: string): string | undefined {
	const candidates = [...body.matchAll(/^--([^\s].{0,69}?)[ \t]*$/gm)].map((m) => m[1]);
	const lines = new Set(body.split('\n').map((line) => line.trimEnd()));
	return candidates.find((c) => lines.has(`--${c}--`)) ?? candidates[0];
}

function decodeBody(entity: Entity): string {
	const encoding = first(entity.headers, 'content-transfer-encoding')?.toLowerCase().trim();
	if (encoding === 'base64') return Buffer.from(entity.body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('utf8').replace(/\r\n?/g, '\n');
	if (encoding === 'quoted-printable') return decodeQuotedPrintable(entity.body);
	return entity.body;
}

function decodeQuotedPrintable(text: string): string {
	return text
		.replace(/[ \t]+$/gm, '')
		.replace(/=\n/g, '')
		.replace(/(?:=[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replace(/=/g, ''), 'hex').toString('utf8'));
}

// ---- finding the report ----

interface Report {
	kind: 'dsn' | 'arf';
	/** The machine-readable part: message/delivery-status or message/feedback-report. */
	part: Entity;
	/** The returned original message (or its header), when the report includes it. */
	original?: Entity;
}

/**
 * The report part and its sibling holding the original, looked for in the multipart entities of
 * the message (nested ones too, not inside an attached message). A message read without its
 * header is split on its first boundary line.
 */
function findReport(message: Entity): Report | 'malformed' | undefined {
	const type = contentType(message);
	if (!type && message.headers.size === 0) {
		const boundary = guessBoundary(message.body);
		if (!boundary) return undefined;
		const parts = splitMultipart(message.body, boundary);
		return parts ? reportAmong(parts, 1) : undefined;
	}
	if (!type?.type.startsWith('multipart/')) return undefined;
	return reportIn(message, type, 0);
}

function reportIn(entity: Entity, type: ContentType, depth: number): Report | 'malformed' | undefined {
	const boundary = type.params.boundary;
	if (!boundary) return 'malformed';
	const parts = splitMultipart(entity.body, boundary);
	if (!parts) return 'malformed';
	return reportAmong(parts, depth + 1);
}

function reportAmong(parts: Entity[], depth: number): Report | 'malformed' | undefined {
	const types = parts.map((part) => contentType(part)?.type ?? 'text/plain');
	const original = parts.find((_, i) => ORIGINAL_TYPES.has(types[i]));
	const dsn = parts.find((_, i) => DELIVERY_STATUS.has(types[i]));
	if (dsn) return { kind: 'dsn', part: dsn, ...(original ? { original } : {}) };
	const arf = parts.find((_, i) => types[i] === FEEDBACK_REPORT);
	if (arf) return { kind: 'arf', part: arf, ...(original ? { original } : {}) };
	if (depth >= MAX_DEPTH) return undefined;
	for (const part of parts) {
		const type = contentType(part);
		if (!type?.type.startsWith('multipart/')) continue;
		const found = reportIn(part, type, depth);
		if (found && found !== 'malformed') return found;
	}
	return undefined;
}

// ---- the original message ----

/**
 * The original's Message-ID, always in the `<id@host>` form nodemailer's info.messageId has (and
 * so the form the SMTP sender recorded), and the send's idempotency key.
 */
function originalFields(headers: Map<string, string[]>): { providerMessageId?: string; sendKey?: string } {
	const messageId = normalizeMessageId(first(headers, 'message-id'));
	const sendKey = first(headers, 'x-retargeting-key');
	return { ...(messageId ? { providerMessageId: messageId } : {}), ...(sendKey ? { sendKey } : {}) };
}

function normalizeMessageId(value: string | undefined): string | undefined {
	if (!value) return undefined;
	const bracketed = /<[^<>\s]+>/.exec(value);
	if (bracketed) return bracketed[0];
	const bare = value.trim().split(/\s+/)[0];
	return bare ? `<${bare}>` : undefined;
}

/** Addresses in an address-list header: those in angle brackets, else the bare ones. */
function addressesIn(value: string | undefined): string[] {
	if (!value) return [];
	const bracketed = [...value.matchAll(/<([^<>\s]+@[^<>\s]+)>/g)].map((m) => m[1]);
	if (bracketed.length) return bracketed;
	return [...value.matchAll(/[^\s<>",;:()]+@[^\s<>",;:()]+/g)].map((m) => m[0]);
}

// ---- DSN (RFC 3464) ----

interface ReportContext {
	/** The report email's own Message-ID, else its report part's text: what makes event ids. */
	reportId: string;
	reportDate?: string;
	receivedAt?: string;
	providerMessageId?: string;
	sendKey?: string;
}

/** The field groups of a delivery-status or feedback-report body: runs of fields between blank lines. */
function fieldGroups(text: string): Array<Map<string, string[]>> {
	return text
		.replace(/\r\n?/g, '\n')
		.split(/\n[ \t]*\n/)
		.map((block) => parseHeaders(block.split('\n')))
		.filter((fields) => fields.size > 0);
}

/** `rfc822; user@example.com` → `user@example.com` (the address type dropped, angle brackets too). */
function typedAddress(value: string | undefined): string | undefined {
	if (!value) return undefined;
	const address = (value.includes(';') ? value.slice(value.indexOf(';') + 1) : value).trim().replace(/^<(.*)>$/, '$1').trim();
	return address.includes('@') && !/\s/.test(address) ? address : undefined;
}

function readDsn(text: string, context: ReportContext): FeedbackReading {
	const groups = fieldGroups(text);
	const isRecipient = (fields: Map<string, string[]>) => fields.has('final-recipient') || fields.has('original-recipient');
	const perMessage = new Map<string, string[]>();
	for (const fields of groups.filter((f) => !isRecipient(f))) for (const [name, values] of fields) if (!perMessage.has(name)) perMessage.set(name, values);
	const recipients = groups.filter(isRecipient);

	const events: FeedbackEvent[] = [];
	const ignored: IgnoredEvent[] = [];
	if (!recipients.length) ignored.push({ index: 0, reason: 'the delivery status notification names no recipient (no Final-Recipient)' });
	recipients.forEach((fields, index) => {
		const email = typedAddress(first(fields, 'final-recipient')) ?? typedAddress(first(fields, 'original-recipient'));
		if (!email) return void ignored.push({ index, reason: 'DSN recipient without an email address' });
		const outcome = dsnOutcome(fields);
		if (typeof outcome === 'string') return void ignored.push({ index, reason: outcome });
		events.push({
			provider: 'smtp',
			id: derivedEventId('smtp', context.reportId, email.toLowerCase()),
			kind: outcome.kind,
			email,
			at: firstTime(first(fields, 'last-attempt-date'), context.reportDate, context.receivedAt, first(perMessage, 'arrival-date')),
			...(context.providerMessageId ? { providerMessageId: context.providerMessageId } : {}),
			...(context.sendKey ? { sendKey: context.sendKey } : {}),
			reason: outcome.reason,
		});
	});
	return { ok: true, events, ignored };
}

/**
 * Action failed with a 5.x.x status → hard_bounce (invalid_address when the status says the
 * address is wrong), with a 4.x.x status → soft_bounce; Action delayed → soft_bounce. A failure
 * whose Status is missing or unreadable is classed by the SMTP reply code in Diagnostic-Code, and
 * as soft_bounce without one. delivered, relayed and expanded change nothing.
 */
function dsnOutcome(fields: Map<string, string[]>): { kind: FeedbackKind; reason: string } | string {
	const action = first(fields, 'action')?.toLowerCase().split(/[\s(;]/)[0];
	const status = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(first(fields, 'status') ?? '')?.[0];
	const diagnostic = first(fields, 'diagnostic-code');
	const reason = (diagnostic ?? `Status ${status ?? 'unknown'}`).slice(0, MAX_REASON);
	switch (action) {
		case 'failed': {
			const statusClass = status?.[0] ?? /^[^;]*;\s*([245])\d\d\b/.exec(diagnostic ?? '')?.[1];
			if (statusClass === '5') return { kind: status && INVALID_ADDRESS_STATUS.test(status) ? 'invalid_address' : 'hard_bounce', reason };
			return { kind: 'soft_bounce', reason };
		}
		case 'delayed':
			return { kind: 'soft_bounce', reason };
		case 'delivered':
		case 'relayed':
		case 'expanded':
			return `DSN Action ${action}: the message reached (or was passed on for) this recipient`;
		default:
			return action ? `DSN Action "${action.slice(0, 20)}" is not one that is read` : 'DSN recipient without an Action';
	}
}

// ---- ARF (RFC 5965) ----

/**
 * abuse, fraud, virus and other → complaint for the recipient who complained: Original-Rcpt-To,
 * else the To of the returned original. not-spam, auth-failure and others change nothing.
 */
function readArf(text: string, original: Map<string, string[]> | undefined, context: ReportContext): FeedbackReading {
	const fields = new Map<string, string[]>();
	for (const group of fieldGroups(text)) for (const [name, values] of group) fields.set(name, [...(fields.get(name) ?? []), ...values]);
	const feedbackType = first(fields, 'feedback-type')?.toLowerCase().trim();
	if (!feedbackType) return passedOver('feedback report without a Feedback-Type');
	if (!COMPLAINT_TYPES.has(feedbackType)) return passedOver(`feedback report of type ${feedbackType.slice(0, 30)}: not a complaint about the message`);
	const fromReport = (fields.get('original-rcpt-to') ?? []).map((value) => typedAddress(value)).filter((a): a is string => !!a);
	const recipients = fromReport.length ? fromReport : addressesIn(original ? first(original, 'to') : undefined);
	if (!recipients.length) return passedOver('feedback report that names no recipient (no Original-Rcpt-To, original To missing or redacted)');
	const at = firstTime(context.reportDate, context.receivedAt, first(fields, 'arrival-date') ?? first(fields, 'received-date'));
	const events: FeedbackEvent[] = [...new Set(recipients)].map((email) => ({
		provider: 'smtp',
		id: derivedEventId('smtp', context.reportId, email.toLowerCase()),
		kind: 'complaint',
		email,
		at,
		...(context.providerMessageId ? { providerMessageId: context.providerMessageId } : {}),
		...(context.sendKey ? { sendKey: context.sendKey } : {}),
		reason: feedbackType,
	}));
	return { ok: true, events, ignored: [] };
}

// ---- dates ----

function dateOf(value: string | undefined): string | undefined {
	return value ? isoDate(value.replace(/\([^()]*\)/g, ' ').trim()) : undefined;
}

/**
 * The first of the given times that reads as a date, in ISO 8601 UTC. Only when none does, the
 * time of reading (the only value here that is not from the email).
 */
function firstTime(...candidates: Array<string | undefined>): string {
	for (const candidate of candidates) {
		const iso = dateOf(candidate);
		if (iso) return iso;
	}
	return new Date().toISOString();
}
