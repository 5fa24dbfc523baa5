import { execFileSync } from 'node:child_process';
import { createSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { FeedbackReading, FeedbackRequest } from '../../nodes/shared/feedback/model.ts';
import { readSes, type SnsIo } from '../../nodes/shared/feedback/ses.ts';

// A key pair and a self-signed certificate made here with openssl (Node cannot create
// certificates), standing in for the certificate SNS serves at SigningCertURL. A second pair signs
// messages that the first certificate must not accept.
let dir: string;
let key: string;
let cert: string;
let otherKey: string;

beforeAll(() => {
	dir = mkdtempSync(join(tmpdir(), 'sns-cert-'));
	for (const name of ['a', 'b']) {
		execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}-key.pem`), '-out', join(dir, `${name}-cert.pem`), '-days', '1', '-subj', '/CN=sns.amazonaws.com'], { stdio: 'ignore' });
	}
	key = readFileSync(join(dir, 'a-key.pem'), 'utf8');
	cert = readFileSync(join(dir, 'a-cert.pem'), 'utf8');
	otherKey = readFileSync(join(dir, 'b-key.pem'), 'utf8');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-feedback';

/** Each test its own certificate URL, so the reader's certificate cache cannot hide a fetch. */
let certCounter = 0;
const freshCertUrl = () => `https://sns.us-east-1.amazonaws.com/SimpleNotificationService-${++certCounter}f3ecfb7224c7233fe7bb5f59f96de52f.pem`;

type Envelope = Record<string, string | undefined>;

/** AWS's string to sign, written out here as the SNS guide spells it (not taken from the reader). */
function stringToSign(envelope: Envelope): string {
	const fields =
		envelope.Type === 'Notification'
			? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
			: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
	return fields
		.filter((name) => envelope[name] !== undefined)
		.map((name) => `${name}\n${envelope[name]}\n`)
		.join('');
}

function signed(envelope: Envelope, version: '1' | '2' = '1', signingKey = key): Envelope {
	const withVersion = { ...envelope, SignatureVersion: version };
	const signature = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256').update(stringToSign(withVersion), 'utf8').sign(signingKey, 'base64');
	return { ...withVersion, Signature: signature };
}

/** An SNS Notification envelope as in AWS's http-notification-json example, carrying `message`. */
function notification(message: unknown, overrides: Envelope = {}): Envelope {
	return {
		Type: 'Notification',
		MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
		TopicArn: TOPIC,
		Subject: 'Amazon SES Email Event Notification',
		Message: typeof message === 'string' ? message : JSON.stringify(message),
		Timestamp: '2017-08-05T00:41:03.000Z',
		SigningCertURL: freshCertUrl(),
		UnsubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${TOPIC}:c9135db0-26c4-47ec-8998-413945fb5a96`,
		...overrides,
	};
}

function request(envelope: Envelope, type = envelope.Type): FeedbackRequest {
	return {
		body: Buffer.from(JSON.stringify(envelope)),
		headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': type, 'x-amz-sns-message-id': envelope.MessageId, 'x-amz-sns-topic-arn': envelope.TopicArn },
		url: 'https://n8n.example.com/webhook/ses-feedback',
		method: 'POST',
	};
}

function recordingIo(pem = cert): SnsIo & { fetched: string[]; confirmed: string[] } {
	const fetched: string[] = [];
	const confirmed: string[] = [];
	return {
		fetched,
		confirmed,
		fetchCertificate: async (url) => {
			fetched.push(url);
			return pem;
		},
		confirmSubscription: async (url) => {
			confirmed.push(url);
		},
	};
}

const config = { topicArns: [TOPIC] };

function without(envelope: Envelope, field: string): Envelope {
	const copy = { ...envelope };
	delete copy[field];
	return copy;
}

function okReading(reading: FeedbackReading) {
	if (!reading.ok) throw new Error(`refused ${reading.status}: ${reading.error}`);
	return reading;
}

// ---- SES event records, from AWS's "Examples of event data that Amazon SES publishes to Amazon SNS" ----

const MAIL = {
	timestamp: '2017-08-05T00:40:02.012Z',
	source: 'Sender Name <sender@example.com>',
	sourceArn: 'arn:aws:ses:us-east-1:123456789012:identity/sender@example.com',
	sendingAccountId: '123456789012',
	messageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
	destination: ['recipient@example.com'],
	headersTruncated: false,
	headers: [
		{ name: 'From', value: 'Sender Name <sender@example.com>' },
		{ name: 'To', value: 'recipient@example.com' },
		{ name: 'Subject', value: 'Message sent from Amazon SES' },
		{ name: 'MIME-Version', value: '1.0' },
		{ name: 'Content-Type', value: 'multipart/alternative; boundary="----=_Part_7307378_1629847660.1516840721503"' },
		{ name: 'X-Retargeting-Key', value: 'abandoned-cart:42:step-1' },
	],
	commonHeaders: { from: ['Sender Name <sender@example.com>'], to: ['recipient@example.com'], messageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000', subject: 'Message sent from Amazon SES' },
	tags: { 'ses:configuration-set': ['ConfigSet'], 'ses:source-ip': ['192.0.2.0'], 'ses:from-domain': ['example.com'], 'ses:caller-identity': ['ses_user'] },
};

const BOUNCE = {
	eventType: 'Bounce',
	bounce: {
		bounceType: 'Permanent',
		bounceSubType: 'General',
		bouncedRecipients: [{ emailAddress: 'recipient@example.com', action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
		timestamp: '2017-08-05T00:41:02.669Z',
		feedbackId: '01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000',
		reportingMTA: 'dsn; mta.example.com',
	},
	mail: MAIL,
};

const COMPLAINT = {
	eventType: 'Complaint',
	complaint: {
		complainedRecipients: [{ emailAddress: 'recipient@example.com' }],
		timestamp: '2017-08-05T00:41:02.669Z',
		feedbackId: '01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000',
		userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.90 Safari/537.36',
		complaintFeedbackType: 'abuse',
		arrivalDate: '2017-08-05T00:41:02.669Z',
	},
	// Without the original headers: the send is found by the rt_key tag instead.
	mail: { ...MAIL, timestamp: '2017-08-05T00:40:01.123Z', headers: MAIL.headers.slice(0, 5), tags: { ...MAIL.tags, rt_key: ['welcome:7:step-2'] } },
};

const DELIVERY = {
	eventType: 'Delivery',
	mail: { ...MAIL, timestamp: '2016-10-19T23:20:52.240Z', source: 'sender@example.com' },
	delivery: { timestamp: '2016-10-19T23:21:04.133Z', processingTimeMillis: 11893, recipients: ['recipient@example.com'], smtpResponse: '250 2.6.0 Message received', reportingMTA: 'mta.example.com' },
};

const OPEN = {
	eventType: 'Open',
	mail: { ...MAIL, timestamp: '2017-08-09T21:59:49.927Z' },
	open: { ipAddress: '192.0.2.1', timestamp: '2017-08-09T22:00:19.652Z', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X) AppleWebKit/603.3.8 (KHTML, like Gecko) Mobile/14G60' },
};

const CLICK = {
	eventType: 'Click',
	click: {
		ipAddress: '192.0.2.1',
		link: 'http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html',
		linkTags: { samplekey0: ['samplevalue0'], samplekey1: ['samplevalue1'] },
		timestamp: '2017-08-09T23:51:25.570Z',
		userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.90 Safari/537.36',
	},
	mail: { ...MAIL, timestamp: '2017-08-09T23:50:05.795Z' },
};

const SUBSCRIPTION = {
	eventType: 'Subscription',
	mail: { ...MAIL, timestamp: '2022-01-12T01:00:14.340Z' },
	subscription: {
		contactList: 'ContactListName',
		timestamp: '2022-01-12T01:00:17.910Z',
		source: 'UnsubscribeHeader',
		newTopicPreferences: { unsubscribeAll: true, topicSubscriptionStatus: [{ topicName: 'ExampleTopicName', subscriptionStatus: 'OptOut' }] },
		oldTopicPreferences: { unsubscribeAll: false, topicSubscriptionStatus: [{ topicName: 'ExampleTopicName', subscriptionStatus: 'OptOut' }] },
	},
};

/** AWS's SubscriptionConfirmation example (http-subscription-confirmation-json), moved to this topic. */
function subscriptionConfirmation(overrides: Envelope = {}): Envelope {
	const awsExampleValue = '2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736';
	return {
		Type: 'SubscriptionConfirmation',
		MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b',
		Token: awsExampleValue,
		TopicArn: TOPIC,
		Message: `You have chosen to subscribe to the topic ${TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
		SubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=${awsExampleValue}`,
		Timestamp: '2012-04-26T20:45:04.751Z',
		SigningCertURL: freshCertUrl(),
		...overrides,
	};
}

describe('readSes: SES events', () => {
	it('reads a permanent 5.1.1 Bounce (SignatureVersion 1) as invalid_address, with the send key from the original headers', async () => {
		const envelope = signed(notification(BOUNCE), '1');
		const io = recordingIo();
		const reading = okReading(await readSes(request(envelope), config, io));
		expect(reading.events).toEqual([
			{
				provider: 'ses',
				id: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
				kind: 'invalid_address',
				email: 'recipient@example.com',
				at: '2017-08-05T00:41:02.669Z',
				providerMessageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
				sendKey: 'abandoned-cart:42:step-1',
				reason: 'smtp; 550 5.1.1 user unknown',
			},
		]);
		expect(io.fetched).toEqual([envelope.SigningCertURL]);
		expect(io.confirmed).toEqual([]);
	});

	it('reads a Complaint signed with SignatureVersion 2, the send key from the rt_key tag', async () => {
		const reading = okReading(await readSes(request(signed(notification(COMPLAINT), '2')), config, recordingIo()));
		expect(reading.events).toEqual([
			{
				provider: 'ses',
				id: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
				kind: 'complaint',
				email: 'recipient@example.com',
				at: '2017-08-05T00:41:02.669Z',
				providerMessageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
				sendKey: 'welcome:7:step-2',
				reason: 'abuse',
			},
		]);
	});

	it('reads Delivery, Open and Click records as touchpoints, dated by their own timestamps', async () => {
		const delivery = okReading(await readSes(request(signed(notification(DELIVERY), '2')), config, recordingIo()));
		expect(delivery.events).toMatchObject([{ kind: 'delivered', email: 'recipient@example.com', at: '2016-10-19T23:21:04.133Z', sendKey: 'abandoned-cart:42:step-1' }]);

		const open = okReading(await readSes(request(signed(notification(OPEN))), config, recordingIo()));
		expect(open.events).toMatchObject([{ kind: 'opened', email: 'recipient@example.com', at: '2017-08-09T22:00:19.652Z' }]);

		const click = okReading(await readSes(request(signed(notification(CLICK))), config, recordingIo()));
		expect(click.events).toEqual([
			expect.objectContaining({ kind: 'clicked', email: 'recipient@example.com', at: '2017-08-09T23:51:25.570Z', url: 'http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html' }),
		]);
	});

	it('gives each event of a notification with several recipients the MessageId and its index', async () => {
		const bounce = {
			...BOUNCE,
			bounce: {
				...BOUNCE.bounce,
				bounceType: 'Transient',
				bounceSubType: 'MailboxFull',
				bouncedRecipients: [
					{ emailAddress: 'full@example.com', action: 'failed', status: '4.2.2', diagnosticCode: 'smtp; 452 4.2.2 Mailbox full' },
					{ emailAddress: 'quota@example.com', action: 'failed', status: '4.2.2' },
				],
			},
		};
		const reading = okReading(await readSes(request(signed(notification(bounce))), config, recordingIo()));
		expect(reading.events.map(({ id, kind, email, reason }) => ({ id, kind, email, reason }))).toEqual([
			{ id: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324:0', kind: 'soft_bounce', email: 'full@example.com', reason: 'smtp; 452 4.2.2 Mailbox full' },
			{ id: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324:1', kind: 'soft_bounce', email: 'quota@example.com', reason: 'Transient MailboxFull' },
		]);
	});

	it('classes bounce types: NoEmail → invalid_address, Suppressed → hard_bounce with SES as the reason, General → hard_bounce, Undetermined → soft_bounce', async () => {
		const kindOf = async (bounceType: string, bounceSubType: string, status = '5.0.0') => {
			const bounce = { ...BOUNCE, bounce: { ...BOUNCE.bounce, bounceType, bounceSubType, bouncedRecipients: [{ emailAddress: 'someone@example.com', status }] } };
			const [event] = okReading(await readSes(request(signed(notification(bounce))), config, recordingIo())).events;
			return [event.kind, event.reason];
		};
		expect(await kindOf('Permanent', 'NoEmail')).toEqual(['invalid_address', 'Permanent NoEmail']);
		expect(await kindOf('Permanent', 'Suppressed')).toEqual(['hard_bounce', 'Permanent Suppressed: on the SES global suppression list']);
		expect(await kindOf('Permanent', 'OnAccountSuppressionList')).toEqual(['hard_bounce', 'Permanent OnAccountSuppressionList: on the SES account-level suppression list']);
		expect(await kindOf('Permanent', 'General')).toEqual(['hard_bounce', 'Permanent General']);
		expect(await kindOf('Undetermined', 'Undetermined')).toEqual(['soft_bounce', 'Undetermined Undetermined']);
	});

	it('reads the older notifications (notificationType instead of eventType)', async () => {
		const legacy = {
			notificationType: 'Bounce',
			bounce: {
				bounceType: 'Permanent',
				reportingMTA: 'dns; email.example.com',
				bouncedRecipients: [{ emailAddress: 'jane@example.com', status: '5.1.1', action: 'failed', diagnosticCode: 'smtp; 550 5.1.1 <jane@example.com>... User' }],
				bounceSubType: 'General',
				timestamp: '2016-01-27T14:59:38.237Z',
				feedbackId: '00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000',
				remoteMtaIp: '127.0.2.0',
			},
			mail: { timestamp: '2016-01-27T14:59:38.237Z', source: 'john@example.com', messageId: '00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000', destination: ['jane@example.com', 'mary@example.com', 'richard@example.com'] },
		};
		const reading = okReading(await readSes(request(signed(notification(legacy))), config, recordingIo()));
		expect(reading.events).toEqual([expect.objectContaining({ kind: 'invalid_address', email: 'jane@example.com', providerMessageId: '00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000', at: '2016-01-27T14:59:38.237Z' })]);
		expect(reading.events[0].sendKey).toBeUndefined();
	});

	it('reads an unsubscribe from all topics as unsubscribed, and a topic change as nothing', async () => {
		const all = okReading(await readSes(request(signed(notification(SUBSCRIPTION))), config, recordingIo()));
		expect(all.events).toEqual([expect.objectContaining({ kind: 'unsubscribed', email: 'recipient@example.com', at: '2022-01-12T01:00:17.910Z' })]);
		expect(all.events[0].reason).toContain('UnsubscribeHeader');

		const topicOnly = { ...SUBSCRIPTION, subscription: { ...SUBSCRIPTION.subscription, newTopicPreferences: { unsubscribeAll: false, topicSubscriptionStatus: [{ topicName: 'ExampleTopicName', subscriptionStatus: 'OptOut' }] } } };
		const changed = okReading(await readSes(request(signed(notification(topicOnly))), config, recordingIo()));
		expect(changed.events).toEqual([]);
		expect(changed.ignored).toHaveLength(1);
	});

	it('passes over Send, Reject, DeliveryDelay and Rendering Failure, saying why', async () => {
		for (const eventType of ['Send', 'Reject', 'DeliveryDelay', 'Rendering Failure']) {
			const reading = okReading(await readSes(request(signed(notification({ eventType, mail: MAIL }))), config, recordingIo()));
			expect(reading.events).toEqual([]);
			expect(reading.ignored).toEqual([{ index: 0, reason: expect.stringContaining(eventType === 'Rendering Failure' ? 'Rendering Failure' : eventType) }]);
		}
	});

	it('reads the same message twice to the same events and ids, fetching its certificate once', async () => {
		const envelope = signed(notification({ ...DELIVERY, delivery: { ...DELIVERY.delivery, recipients: ['a@example.com', 'b@example.com'] } }), '2');
		const io = recordingIo();
		const first = okReading(await readSes(request(envelope), config, io));
		const second = okReading(await readSes(request(envelope), config, io));
		expect(first.events.map((e) => e.id)).toEqual(['22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324:0', '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324:1']);
		expect(second).toEqual(first);
		expect(io.fetched).toEqual([envelope.SigningCertURL]);
	});
});

describe('readSes: subscription messages', () => {
	it('confirms a signed SubscriptionConfirmation through its SubscribeURL and answers so', async () => {
		const envelope = signed(subscriptionConfirmation(), '1');
		const io = recordingIo();
		const reading = await readSes(request(envelope), config, io);
		expect(reading).toEqual({ ok: true, events: [], ignored: [], reply: 'subscription confirmed' });
		expect(io.confirmed).toEqual([envelope.SubscribeURL]);
	});

	it('does not confirm a SubscriptionConfirmation whose SubscribeURL is not on an SNS host, even signed', async () => {
		const envelope = signed(subscriptionConfirmation({ SubscribeURL: 'https://evil.example/?Action=ConfirmSubscription' }), '2');
		const io = recordingIo();
		const reading = await readSes(request(envelope), config, io);
		expect(reading).toMatchObject({ ok: false, status: 400 });
		expect(io.confirmed).toEqual([]);
	});

	it('does not confirm a SubscriptionConfirmation whose Token was changed after signing', async () => {
		const envelope = { ...signed(subscriptionConfirmation()), Token: 'forged' };
		const io = recordingIo();
		expect(await readSes(request(envelope), config, io)).toMatchObject({ ok: false, status: 401 });
		expect(io.confirmed).toEqual([]);
	});

	it('reads an UnsubscribeConfirmation as nothing to apply', async () => {
		const envelope = signed(subscriptionConfirmation({ Type: 'UnsubscribeConfirmation', Message: `You have chosen to deactivate subscription ${TOPIC}.` }));
		const reading = okReading(await readSes(request(envelope), config, recordingIo()));
		expect(reading.events).toEqual([]);
		expect(reading.ignored).toHaveLength(1);
	});
});

describe('readSes: refusals', () => {
	it('refuses a tampered Message with 401 and applies nothing', async () => {
		const envelope = signed(notification(BOUNCE));
		const tampered = { ...envelope, Message: envelope.Message!.replace('recipient@example.com', 'victim@example.com') };
		const reading = await readSes(request(tampered), config, recordingIo());
		expect(reading).toMatchObject({ ok: false, status: 401 });
		expect(reading).not.toHaveProperty('events');
		if (!reading.ok) expect(reading.error).not.toMatch(/@/);
	});

	it('refuses a changed Subject, an added Subject and a removed one', async () => {
		const envelope = signed(notification(DELIVERY));
		const withoutSubject = without(envelope, 'Subject');
		for (const changed of [{ ...envelope, Subject: 'Other' }, withoutSubject]) {
			expect(await readSes(request(changed), config, recordingIo())).toMatchObject({ ok: false, status: 401 });
		}
		const unsubjected = signed(notification(DELIVERY, { Subject: undefined }));
		expect(okReading(await readSes(request(unsubjected), config, recordingIo())).events).toHaveLength(1);
		expect(await readSes(request({ ...unsubjected, Subject: 'Added' }), config, recordingIo())).toMatchObject({ ok: false, status: 401 });
	});

	it('refuses a message signed with another key than the certificate\'s', async () => {
		const reading = await readSes(request(signed(notification(BOUNCE), '2', otherKey)), config, recordingIo());
		expect(reading).toMatchObject({ ok: false, status: 401 });
	});

	it('refuses a SHA1 signature presented as SignatureVersion 2, and an unknown version', async () => {
		const v1 = signed(notification(BOUNCE), '1');
		expect(await readSes(request({ ...v1, SignatureVersion: '2' }), config, recordingIo())).toMatchObject({ ok: false, status: 401 });
		expect(await readSes(request({ ...v1, SignatureVersion: '3' }), config, recordingIo())).toMatchObject({ ok: false, status: 401 });
	});

	it.each([
		'https://evil.example/cert.pem',
		'http://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem',
		'https://sns.us-east-1.amazonaws.com.evil.io/x.pem',
		'https://evil.io/sns.us-east-1.amazonaws.com/x.pem',
		'https://sns.us-east-1.amazonaws.com/x.txt',
		'https://sns.us-east-1.amazonaws.com:8443/x.pem',
		'https://attacker@sns.us-east-1.amazonaws.com/x.pem',
		'https://s3.amazonaws.com/x.pem',
		'not a url',
	])('refuses the certificate URL %s without fetching it', async (url) => {
		const io = recordingIo();
		const reading = await readSes(request(signed(notification(BOUNCE, { SigningCertURL: url }))), config, io);
		expect(reading).toEqual({ ok: false, status: 401, error: expect.stringContaining('certificate URL not on an AWS SNS host') });
		expect(io.fetched).toEqual([]);
	});

	it('accepts a certificate on an SNS host of another region and of the China regions', async () => {
		for (const url of ['https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-a1.pem', 'https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-b2.pem']) {
			const io = recordingIo();
			expect(okReading(await readSes(request(signed(notification(BOUNCE, { SigningCertURL: url }))), config, io)).events).toHaveLength(1);
		}
	});

	it('refuses a topic that is not allowed with 403 before fetching anything', async () => {
		const io = recordingIo();
		const envelope = signed(notification(BOUNCE, { TopicArn: 'arn:aws:sns:us-east-1:999999999999:someone-else' }));
		expect(await readSes(request(envelope), config, io)).toMatchObject({ ok: false, status: 403 });
		const confirmation = signed(subscriptionConfirmation({ TopicArn: 'arn:aws:sns:us-east-1:999999999999:someone-else' }));
		expect(await readSes(request(confirmation), config, io)).toMatchObject({ ok: false, status: 403 });
		expect(io.fetched).toEqual([]);
		expect(io.confirmed).toEqual([]);
	});

	it('refuses everything while no topic is set', async () => {
		const io = recordingIo();
		for (const topicArns of [[], ['  ']]) {
			const reading = await readSes(request(signed(notification(BOUNCE))), { topicArns }, io);
			expect(reading).toEqual({ ok: false, status: 403, error: expect.stringContaining('set the SNS topic ARN in the credential') });
		}
		expect(io.fetched).toEqual([]);
	});

	it('answers 400 naming the field for a body that is not an SNS envelope', async () => {
		const io = recordingIo();
		const raw = (body: string, type = 'Notification'): FeedbackRequest => ({ ...request(notification(BOUNCE)), body: Buffer.from(body), headers: { 'x-amz-sns-message-type': type } });
		expect(await readSes(raw('not json'), config, io)).toMatchObject({ ok: false, status: 400, error: expect.stringContaining('not JSON') });
		// Raw message delivery: the SES record itself, without the envelope.
		expect(await readSes(raw(JSON.stringify(BOUNCE)), config, io)).toMatchObject({ ok: false, status: 400, error: expect.stringContaining('Type') });
		expect(await readSes(request(without(signed(notification(BOUNCE)), 'Signature')), config, io)).toMatchObject({ ok: false, status: 400, error: expect.stringContaining('Signature') });
		expect(await readSes(request(without(signed(subscriptionConfirmation()), 'Token')), config, io)).toMatchObject({ ok: false, status: 400, error: expect.stringContaining('Token') });
		expect(await readSes(request(signed(notification(BOUNCE)), 'SubscriptionConfirmation'), config, io)).toMatchObject({ ok: false, status: 400, error: expect.stringContaining('x-amz-sns-message-type') });
		expect(io.fetched).toEqual([]);
	});

	it('answers 502 when the certificate cannot be fetched, so that SNS tries again', async () => {
		const io: SnsIo = {
			fetchCertificate: async () => {
				throw new Error('ETIMEDOUT');
			},
			confirmSubscription: async () => undefined,
		};
		expect(await readSes(request(signed(notification(BOUNCE))), config, io)).toMatchObject({ ok: false, status: 502, error: expect.stringContaining('ETIMEDOUT') });
	});

	it('reads a verified notification that holds no SES record as nothing to apply', async () => {
		const reading = okReading(await readSes(request(signed(notification('plain text published to the topic'))), config, recordingIo()));
		expect(reading.events).toEqual([]);
		expect(reading.ignored).toHaveLength(1);
	});
});
