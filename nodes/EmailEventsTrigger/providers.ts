/** Which reader takes which provider's webhook, with what its credential holds. */
import type { IWebhookFunctions } from 'n8n-workflow';

import { readBrevo } from '../shared/feedback/brevo';
import { readMailjet } from '../shared/feedback/mailjet';
import { readMandrill } from '../shared/feedback/mandrill';
import type { FeedbackProvider, FeedbackReading, FeedbackRequest } from '../shared/feedback/model';
import { readPostmark } from '../shared/feedback/postmark';
import { readSendGrid } from '../shared/feedback/sendgrid';
import { readSes } from '../shared/feedback/ses';

/** The Retargeting Email Provider Webhook API credential. */
export interface WebhookCredential {
	provider?: string;
	publicKey?: string;
	signingSecret?: string;
	signedUrl?: string;
	topicArns?: string;
	user?: string;
	password?: string;
	token?: string;
}

export async function readProviderRequest(
	ctx: IWebhookFunctions,
	provider: Exclude<FeedbackProvider, 'smtp'>,
	request: FeedbackRequest,
	credential: WebhookCredential,
): Promise<FeedbackReading> {
	switch (provider) {
		case 'sendgrid':
			return readSendGrid(request, { publicKey: credential.publicKey ?? '' });
		case 'mandrill':
			return readMandrill(request, { webhookKey: credential.signingSecret ?? '' });
		case 'ses':
			return await readSes(
				request,
				{ topicArns: String(credential.topicArns ?? '').split(',').map((arn) => arn.trim()).filter(Boolean) },
				{
					// The reader has checked both URLs: https, on an AWS SNS host.
					fetchCertificate: async (url) => String(await ctx.helpers.httpRequest({ method: 'GET', url, encoding: 'text', timeout: 10_000 })),
					confirmSubscription: async (url) => void (await ctx.helpers.httpRequest({ method: 'GET', url, timeout: 10_000 })),
				},
			);
		case 'postmark':
			return readPostmark(request, credential);
		case 'mailjet':
			return readMailjet(request, credential);
		case 'brevo':
			return readBrevo(request, credential);
	}
}
