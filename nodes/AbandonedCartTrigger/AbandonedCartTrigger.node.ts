import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type IPollFunctions,
} from 'n8n-workflow';

import type { ConsentPurpose } from '../shared/events/model';
import { checkPostgresStore, storeFor, storeProperties } from '../shared/parameters/storeParameters';
import type { AbandonmentRules } from '../shared/store/abandonment';
import { dueCartItem, parseDelays } from './sequence';

const DAY_MS = 86_400_000;

export class AbandonedCartTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Abandoned Cart Trigger',
		name: 'abandonedCartTrigger',
		icon: { light: 'file:../../icons/abandoned-cart-trigger.svg', dark: 'file:../../icons/abandoned-cart-trigger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{"steps after " + $parameter["steps"]}}',
		description: 'Starts the workflow for each abandoned cart, once per step of your sequence (for example 1 h, 24 h and 72 h after the last activity)',
		defaults: { name: 'Abandoned Cart Trigger' },
		polling: true,
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'retargetingPostgresApi',
				required: true,
				testedBy: 'checkPostgresStore',
				displayOptions: { show: { store: ['postgres'] } },
			},
		],
		properties: [
			...storeProperties,
			{
				displayName: 'Steps',
				name: 'steps',
				type: 'string',
				default: '1h, 24h, 72h',
				required: true,
				placeholder: '1h, 24h, 72h',
				description:
					'How long after the last cart activity each step is due, separated by commas (units s, m, h, d). Each cart is emitted once per step, with the step number. When several steps fell due between two polls, only the latest is emitted.',
			},
			{
				displayName: 'Carts Opened By',
				name: 'openedBy',
				type: 'multiOptions',
				options: [
					{ name: 'Product Added', value: 'Product Added', description: 'Any cart with a product in it' },
					{ name: 'Checkout Started', value: 'Checkout Started', description: 'Only carts whose owner started checkout' },
				],
				default: ['Product Added', 'Checkout Started'],
				description:
					'Which carts count as abandoned. With Product Added, every cart with a product in it; with Checkout Started alone, only carts whose owner started checkout.',
			},
			{
				displayName: 'Minimum Cart Value',
				name: 'minValue',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'Carts worth less than this (in their own currency) are left alone',
			},
			{
				displayName: 'Include Anonymous Carts',
				name: 'includeAnonymous',
				type: 'boolean',
				default: false,
				description:
					'Whether carts of visitors known by no email and no user ID are emitted too. Turn on for banner retargeting, which can reach them; leave off for email.',
			},
			{
				displayName: 'Sequence Ends On',
				name: 'endOn',
				type: 'multiOptions',
				options: [
					{ name: 'Order', value: 'order', description: 'Order Completed for the cart, or by its owner' },
					{ name: 'Emptied Cart', value: 'emptied', description: 'Every product removed' },
					{ name: 'Opt-Out', value: 'optOut', description: 'Consent for the channel withdrawn, or the person suppressed' },
				],
				default: ['order', 'emptied', 'optOut'],
				description: 'What stops a cart\'s sequence. A cart that changes after a step (the person came back) starts its sequence again.',
			},
			{
				displayName: 'Channel',
				name: 'channel',
				type: 'options',
				options: [
					{ name: 'Email', value: 'email' },
					{ name: 'Ads', value: 'ads' },
				],
				default: 'email',
				description: 'The channel the flow retargets on: a person who withdrew consent for it has opted out',
			},
			{
				displayName: 'Recovery URL',
				name: 'recoveryUrl',
				type: 'string',
				default: '',
				placeholder: 'https://shop.example.com/cart/restore?cart={cart_id}',
				description: 'A link that brings the cart back, for the message. {cart_id}, {profile_id} and {step} are filled in.',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Look-Back (Days)',
						name: 'lookbackDays',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 7,
						description:
							'Carts idle for longer than the last step plus this are not followed any more, so that a flow published today does not message last year\'s carts. Carts idle within that window get their latest due step at the first poll, for example the last step for a cart idle for 4 days.',
					},
					{
						displayName: 'Max Carts per Poll',
						name: 'maxCartsPerPoll',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 500,
						description: 'Further due carts come with the next poll',
					},
				],
			},
		],
	};

	methods = {
		credentialTest: {
			checkPostgresStore,
		},
	};

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		const stepsText = String(this.getNodeParameter('steps', ''));
		const delays = parseDelays(stepsText);
		if (!delays.ok) throw new NodeOperationError(this.getNode(), `Steps: ${delays.reason}`);
		const openedBy = this.getNodeParameter('openedBy', []) as string[];
		if (openedBy.length === 0) throw new NodeOperationError(this.getNode(), 'Carts Opened By: choose Product Added, Checkout Started or both');
		const endOn = new Set(this.getNodeParameter('endOn', []) as string[]);
		const options = this.getNodeParameter('options', {}) as { lookbackDays?: number; maxCartsPerPoll?: number };
		const rules: AbandonmentRules = {
			triggerKey: `${this.getWorkflow().id}:${this.getNode().id}`,
			delaysMs: delays.delaysMs,
			checkoutOnly: !openedBy.includes('Product Added'),
			minValue: Number(this.getNodeParameter('minValue', 0)),
			includeAnonymous: this.getNodeParameter('includeAnonymous', false) as boolean,
			consentPurpose: this.getNodeParameter('channel', 'email') as ConsentPurpose,
			endOn: { order: endOn.has('order'), emptied: endOn.has('emptied'), optOut: endOn.has('optOut') },
			lookbackMs: (options.lookbackDays ?? 7) * DAY_MS,
			limit: options.maxCartsPerPoll ?? 500,
		};
		const store = await storeFor(this);
		// A manual run ("Fetch Test Event") shows what is due without using any step up.
		const due = this.getMode() === 'manual' ? (await store.dueCarts(rules)).slice(0, 5) : await store.claimDueCarts(rules);
		if (due.length === 0) return null;
		const template = String(this.getNodeParameter('recoveryUrl', ''));
		return [due.map((d) => ({ json: dueCartItem(d, delays.delaysMs.length, template) as IDataObject }))];
	}
}
