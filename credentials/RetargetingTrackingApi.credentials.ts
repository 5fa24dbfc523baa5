import type { ICredentialType, INodeProperties } from 'n8n-workflow';

export class RetargetingTrackingApi implements ICredentialType {
	name = 'retargetingTrackingApi';

	displayName = 'Retargeting Tracking Source API';

	icon = { light: 'file:../icons/retargeting.svg', dark: 'file:../icons/retargeting.dark.svg' } as const;

	documentationUrl = 'https://github.com/n8n-nodes-retargeting/n8n-nodes-retargeting#tracking-source-credential';

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
	];
}
