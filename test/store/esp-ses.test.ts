import { sendEmails } from '../../nodes/shared/delivery/email.ts';
import { SesSender } from '../../nodes/shared/delivery/ses.ts';
import { emailItem, optedIn, providerFixture, providerSettings, sendStatuses, sesCall } from '../harness/esp.ts';
import { SesStandIn } from '../harness/ses-stand-in.ts';
import { BACKENDS } from '../harness/stores.ts';

const T = Date.parse('2026-11-20T09:00:00.000Z');

describe.each(BACKENDS)('ESP Send through Amazon SES v2 (local stand-in) on %s', (_name, makeFixture) => {
	const ctx = providerFixture(makeFixture, () => new SesStandIn());

	const people = (emails: string[]) => optedIn(ctx.store, emails);
	const settings = providerSettings('ses');
	const item = (email: string, fromName = 'The Shop') => emailItem(email, { from: { email: 'shop@example.com', name: fromName } });
	const keys = (secretAccessKey = ctx.standIn.secretAccessKey) => ({ region: ctx.standIn.region, accessKeyId: ctx.standIn.accessKeyId, secretAccessKey });
	const sender = (options: { configurationSet?: string; secret?: string } = {}) =>
		new SesSender(sesCall(() => ctx.base, keys(options.secret)), { configurationSet: options.configurationSet, campaign: 'cart recovery' });

	it('sends one signed call an email, with its own unsubscribe headers; a refused address fails alone with SES\'s reason', async () => {
		const emails = ['ada@example.com', 'invalid@example.com', 'cy@example.com'];
		await people(emails);
		const outcomes = await sendEmails(ctx.store.driver, sender({ configurationSet: 'marketing' }), emails.map((e) => item(e, 'Café Zoé')), settings, T);
		expect(ctx.standIn.shapeErrors).toEqual([]);
		expect(ctx.standIn.requests).toHaveLength(3);
		expect(outcomes.map((o) => o.status)).toEqual(['sent', 'failed', 'sent']);
		expect(outcomes[0].providerId).toBe('0102019ses-1-000000');
		expect(outcomes[1].reason).toBe('Amazon SES 400 MessageRejected: Email address is not verified. The following identities failed the check in region EU-WEST-1: invalid@example.com');
		const profileId = (await ctx.store.findProfile({ email: 'ada@example.com' }))!.id;
		expect(ctx.standIn.requests[0].body).toEqual({
			FromEmailAddress: `=?UTF-8?B?${Buffer.from('Café Zoé').toString('base64')}?= <shop@example.com>`,
			Destination: { ToAddresses: ['ada@example.com'] },
			Content: {
				Simple: {
					Subject: { Data: 'Hi Ada', Charset: 'UTF-8' },
					Body: { Text: { Data: 'Hi Ada', Charset: 'UTF-8' }, Html: { Data: '<p>Hi Ada</p>', Charset: 'UTF-8' } },
					Headers: [
						{ Name: 'List-Unsubscribe', Value: `<https://shop.example/u/${profileId}>` },
						{ Name: 'List-Unsubscribe-Post', Value: 'List-Unsubscribe=One-Click' },
						{ Name: 'X-Retargeting-Key', Value: 'wf:ada@example.com:1' },
					],
				},
			},
			EmailTags: [{ Name: 'campaign', Value: 'cart_recovery' }],
			ConfigurationSetName: 'marketing',
		});
		expect(ctx.standIn.delivered).toEqual(['ada@example.com', 'cy@example.com']);
		expect(await sendStatuses(ctx.store.driver)).toEqual({ 'wf:ada@example.com:1': 'sent', 'wf:invalid@example.com:1': 'failed', 'wf:cy@example.com:1': 'sent' });
	});

	it('retries throttling (429) and 5xx, then sends each email once', async () => {
		await people(['ada@example.com']);
		ctx.standIn.failNext.push({ status: 429 }, { status: 500 });
		const [outcome] = await sendEmails(ctx.store.driver, sender(), [item('ada@example.com')], settings, T);
		expect(outcome).toMatchObject({ status: 'sent', attempts: 3 });
		expect(ctx.standIn.delivered).toEqual(['ada@example.com']);
	});

	it('a wrong secret key (signature refused) or an unknown configuration set stops the run and keeps nothing reserved', async () => {
		await people(['ada@example.com']);
		await expect(sendEmails(ctx.store.driver, sender({ secret: 'wrong' }), [item('ada@example.com')], settings, T)).rejects.toThrow(
			'the email provider cannot be used: Amazon SES 403 SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check the keys, region and API URL of the credential',
		);
		await expect(sendEmails(ctx.store.driver, sender({ configurationSet: 'missing' }), [item('ada@example.com')], settings, T)).rejects.toThrow(
			'Amazon SES 404 NotFoundException: Configuration set <missing> does not exist',
		);
		expect(await sendStatuses(ctx.store.driver)).toEqual({});
		expect(ctx.standIn.delivered).toEqual([]);
	});
});
