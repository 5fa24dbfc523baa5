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

export type SendResult = { ok: true; providerId: string } | { ok: false; retryable: boolean; reason: string };

/** Network failures that a later attempt may not meet. */
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ESOCKET', 'ECONNECTION', 'EDNS']);

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
			const retryable = e.responseCode ? e.responseCode >= 400 && e.responseCode < 500 : TRANSIENT_CODES.has(e.code ?? '');
			return { ok: false, retryable, reason: e.response ?? e.message };
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
