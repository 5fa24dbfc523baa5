import { createTransport, type Transporter } from 'nodemailer';

export interface SmtpSettings {
	host: string;
	port: number;
	/** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
	secure: boolean;
	user?: string;
	password?: string;
	ignoreSslIssues?: boolean;
}

export interface EmailMessage {
	to: string;
	from: { email: string; name?: string };
	replyTo?: string;
	subject: string;
	html: string;
	text: string;
	headers: Record<string, string>;
}

/**
 * A failure is `retryable` when trying again cannot cause a double, `unknown` when the message may
 * have been delivered (the connection dropped mid-way): never sent again; `fatal` when no message
 * can go through this server (login refused, host unknown).
 */
export type SendResult =
	| { ok: true; providerId: string }
	| { ok: false; retryable: boolean; reason: string; unknown?: boolean; fatal?: boolean };

/** The server could not be reached or used at all: nothing was sent, nothing will be. */
const FATAL_CODES = new Set(['EAUTH', 'EDNS', 'ECONNREFUSED', 'ETLS', 'ENOAUTH']);
/** The connection broke: whether the message went through is unknown. */
const BROKEN_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ESOCKET', 'ECONNECTION']);

/**
 * Sends through one SMTP server over a small pool of connections. SMTP answers 4xx for what may
 * succeed later (greylisting, a full mailbox for now) and 5xx for what will not.
 */
export class SmtpSender {
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

	/** Connects and authenticates, for the credential's test button. */
	async verify(): Promise<void> {
		await this.transport.verify();
	}

	close(): void {
		this.transport.close();
	}
}
