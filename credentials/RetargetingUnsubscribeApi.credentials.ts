import type { ICredentialType, INodeProperties } from 'n8n-workflow';

export class RetargetingUnsubscribeApi implements ICredentialType {
	name = 'retargetingUnsubscribeApi';

	displayName = 'Retargeting Unsubscribe Page API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://github.com/n8n-nodes-retargeting/n8n-nodes-retargeting/blob/main/docs/nodes/email-events-trigger.md#unsubscribe-page';

	properties: INodeProperties[] = [
		{
			displayName: 'Unsubscribe Page URL',
			name: 'publicUrl',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://n8n.example.com/webhook/unsubscribe',
			description:
				"The public address of the Email Events Trigger set to Unsubscribe Page: your n8n's public URL, then /webhook/ and the trigger's path. ESP Send puts it, with a signed token, in every email's unsubscribe link and List-Unsubscribe header.",
		},
		{
			displayName: 'Signing Secret',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'Random text of at least 32 characters (for example the output of "openssl rand -hex 32"). It signs each unsubscribe link so that nobody can unsubscribe someone else; changing it breaks the links of emails already sent.',
		},
		{
			displayName: 'Shop Name',
			name: 'shopName',
			type: 'string',
			default: '',
			placeholder: 'The Shop',
			description: 'Shown on the unsubscribe page',
		},
		{
			displayName: 'Back Link',
			name: 'backUrl',
			type: 'string',
			default: '',
			placeholder: 'https://shop.example.com',
			description: 'Where the "Back to the shop" link of the unsubscribe page leads. Empty: no link.',
		},
	];
}
