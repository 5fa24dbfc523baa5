import type { ICredentialType, INodeProperties } from 'n8n-workflow';

export class RetargetingTrackingApi implements ICredentialType {
	name = 'retargetingTrackingApi';

	displayName = 'Retargeting Tracking Source API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://github.com/n8n-nodes-retargeting/n8n-nodes-retargeting/blob/main/docs/nodes/tracking-trigger.md#the-tracking-source-credential';

	properties: INodeProperties[] = [
		{
			displayName: 'Write Key',
			name: 'writeKey',
			type: 'string',
			default: '',
			required: true,
			description:
				'The key every tracking request must present, as the user name of HTTP Basic auth (what Segment and RudderStack libraries send) or as the writeKey query parameter. At least 16 characters; give each website or app its own. Browsers can see it, like a Segment write key.',
		},
		{
			displayName: 'HMAC Secret',
			name: 'hmacSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'For server-to-server sources only. When set, every request must carry an X-Retargeting-Signature header "t=<unix seconds>,v1=<hex HMAC-SHA256 of t.body>" made with this secret, at most 5 minutes old; unsigned requests and pixel hits get 401. Leave empty for browsers and email pixels, which cannot keep a secret.',
		},
		{
			displayName: 'Allowed Origins',
			name: 'allowedOrigins',
			type: 'string',
			default: '',
			placeholder: 'https://shop.example.com, https://*.example.com',
			description:
				'Websites whose pages may send events, separated by commas. A browser request from any other origin gets 403. Empty allows every origin. Servers send no origin and are not affected.',
		},
	];
}
