import { createTransport, type Transporter } from 'nodemailer';

import type { EmailMessage, EmailSender, SendResult } from './provider';

export interface SmtpSettings {
	host: string;
	port: number;
	/** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
	secure: boolean;
	user?: string;
	password?: string;
	ignoreSslIssues?: boolean;
}

/** The server could not be reached or used at all: nothing was sent, nothing will be. */
const FATAL_CODES = new Set(['EAUTH', 'EDNS', 'ECONNREFUSED', 'ETLS', 'ENOAUTH']);
/** The connection broke: whether the message went through is unknown. */
const BROKEN_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ESOCKET', 'ECONNECTION']);

/**
 * Sends through one SMTP server over a small pool of connections. SMTP answers 4xx for what may
 * succeed later (greylisting, a full mailbox for now) and 5xx for what will not.
 */
export class SmtpSender implements EmailSender {
	/** SMTP takes one message a command; this is how many are handed over at once. */
	readonly maxBatch = 50;

	private readonly transport: Transporter;

	constructor(settings: SmtpSettings) {
		this.transport = createTransport({
			host: settings.host,
			port: settings.port,
			secure: settings.secure,
			auth: settings.user ? { user: settings.user, pass: settings.password ?? '' } : undefined,
			// A password never crosses the network in clear: with a login, STARTTLS is required.
			requireTLS: !!settings.user && !settings.secure,
			tls: { rejectUnauthorized: !settings.ignoreSslIssues },
			pool: true,
			maxConnections: 2,
			connectionTimeout: 15_000,
			greetingTimeout: 15_000,
			socketTimeout: 30_000,
		});
	}

	async send(message: EmailMessage): Promise<SendResult> {
		try {
			const info = await this.transport.sendMail({
				to: message.to,
				from: message.from.name ? { name: message.from.name, address: message.from.email } : message.from.email,
				replyTo: message.replyTo || undefined,
				subject: message.subject,
				html: message.html,
				text: message.text,
				headers: message.headers,
				textEncoding: 'quoted-printable',
			});
			return { ok: true, providerId: String(info.messageId ?? '') };
		} catch (error) {
			const e = error as { responseCode?: number; code?: string; response?: string; message: string };
			const reason = e.response ?? e.message;
			if (e.code && FATAL_CODES.has(e.code)) return { ok: false, retryable: false, fatal: true, reason };
			if (e.responseCode) return { ok: false, retryable: e.responseCode >= 400 && e.responseCode < 500, reason };
			if (e.code && BROKEN_CODES.has(e.code)) {
				return { ok: false, retryable: false, unknown: true, reason: `${reason}; the email may have been sent, so it is not sent again` };
			}
			return { ok: false, retryable: false, reason };
		}
	}

	/** One message after the other; once the server cannot be used at all, the rest are not tried. */
	async sendBatch(messages: EmailMessage[]): Promise<SendResult[]> {
		const results: SendResult[] = [];
		for (const message of messages) {
			const last = results[results.length - 1];
			results.push(last && !last.ok && last.fatal ? last : await this.send(message));
		}
		return results;
	}

	/** Connects and authenticates, for the credential's test button. */
	async verify(): Promise<void> {
		await this.transport.verify();
	}

	close(): void {
		this.transport.close();
	}
}
