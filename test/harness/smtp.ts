import type { AddressInfo } from 'node:net';

import { SMTPServer } from 'smtp-server';

/** A real SMTP server on a free port: it keeps every message, refuses some recipients for good (550) and greylists others (451) a given number of times. */
export class TestSmtpServer {
	readonly messages: Array<{ to: string[]; raw: string }> = [];
	greylist = new Map<string, number>();
	/** How long the server takes to answer a message it received: a slow server, to stop a sender mid-run. */
	acceptDelayMs = 0;
	private server = new SMTPServer({
		authOptional: true,
		disabledCommands: ['STARTTLS'],
		logger: false,
		onRcptTo: (address, _session, callback) => {
			const to = address.address;
			if (to.startsWith('bounce')) return callback(Object.assign(new Error('5.1.1 mailbox unavailable'), { responseCode: 550 }));
			const left = this.greylist.get(to) ?? 0;
			if (left > 0) {
				this.greylist.set(to, left - 1);
				return callback(Object.assign(new Error('4.7.1 greylisted, try again later'), { responseCode: 451 }));
			}
			callback();
		},
		onData: (stream, session, callback) => {
			const chunks: Buffer[] = [];
			stream.on('data', (c: Buffer) => chunks.push(c));
			stream.on('end', () => {
				this.messages.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
				if (this.acceptDelayMs > 0) setTimeout(() => callback(), this.acceptDelayMs);
				else callback();
			});
		},
	});

	async start(): Promise<number> {
		// A sender that dies mid-message (a killed worker) resets its connection: that is the test, not a failure.
		this.server.on('error', (error: NodeJS.ErrnoException) => {
			if (error.code !== 'ECONNRESET') throw error;
		});
		await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
		return (this.server.server.address() as AddressInfo).port;
	}

	/** Waits until `count` messages arrived. */
	async waitFor(count: number, timeoutMs = 60_000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (this.messages.length < count) {
			if (Date.now() > deadline) throw new Error(`${this.messages.length} of ${count} messages arrived in ${timeoutMs} ms`);
			await new Promise((resolve) => setTimeout(resolve, 200));
		}
	}

	async stop(): Promise<void> {
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}
}

/** The message as a mail client reads it: folded header lines joined, the body's quoted-printable decoded. */
export function decoded(raw: string): string {
	const split = raw.indexOf('\r\n\r\n');
	const headers = raw.slice(0, split).replace(/\r\n(?=[ \t])/g, '');
	const body = raw
		.slice(split)
		.replace(/=\r?\n/g, '')
		.replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
	return headers + Buffer.from(body, 'latin1').toString('utf8');
}
