/** The editor's "Test" buttons of the listening-back credentials. */
import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';

import { sendGridPublicKey } from './feedback/sendgrid';
import { MIN_SECRET_LENGTH } from './feedback/unsubscribe-token';

const ok = (message: string): INodeCredentialTestResult => ({ status: 'OK', message });
const error = (message: string): INodeCredentialTestResult => ({ status: 'Error', message });

/** The unsubscribe page: a usable URL and secret, and a published Email Events Trigger answering there. */
export async function checkUnsubscribePage(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	const url = String(data.publicUrl ?? '').trim();
	if (!/^https?:\/\/[^/]+/i.test(url)) return error('Unsubscribe Page URL must be an http(s) link');
	if (String(data.secret ?? '').length < MIN_SECRET_LENGTH) return error(`Signing Secret must be at least ${MIN_SECRET_LENGTH} characters`);
	try {
		const response = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
		if (response.status === 200) return ok('The unsubscribe page answers');
		return error(`The URL answered ${response.status}: publish the workflow with the Email Events Trigger set to Unsubscribe Page, at this path`);
	} catch (e) {
		return error(`Could not reach the unsubscribe page: ${(e as Error).message}`);
	}
}

const SNS_TOPIC = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+(\.fifo)?$/;

/** A provider webhook credential holds what its provider's requests are checked with. */
export async function checkEmailWebhook(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	const text = (name: string) => String(data[name] ?? '').trim();
	switch (text('provider')) {
		case 'sendgrid':
			try {
				sendGridPublicKey(text('publicKey'));
				return ok('The verification key is a usable P-256 public key');
			} catch (e) {
				return error((e as Error).message);
			}
		case 'mandrill':
			return text('signingSecret') ? ok('A webhook key is set') : error('Set the webhook key Mailchimp Transactional shows for this webhook');
		case 'ses': {
			const arns = text('topicArns').split(',').map((arn) => arn.trim()).filter(Boolean);
			const bad = arns.find((arn) => !SNS_TOPIC.test(arn));
			if (arns.length === 0) return error('Set the ARN of the SNS topic your SES event destination publishes to');
			return bad ? error(`"${bad}" is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)`) : ok(`${arns.length} topic(s) allowed`);
		}
		default: {
			if (text('user') && text('password')) return ok('Requests must carry this user and password');
			if (text('token').length >= 24) return ok('Requests must carry this token');
			return error('Set a user and password, or a token of at least 24 characters: this provider does not sign its webhooks');
		}
	}
}
