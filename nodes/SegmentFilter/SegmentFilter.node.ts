import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeParameters,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { cartOfItem, type PersonKind, personOfItem, personProperties } from '../shared/parameters/personParameters';
import { conditionProperties } from '../shared/parameters/segmentConditionProperties';
import { type SegmentsParameter, segmentsFromParameter } from '../shared/parameters/segmentParameters';
import { checkPostgresStore, storeFor, storeProperties } from '../shared/parameters/storeParameters';
import { type PersonInput, SegmentRouter } from '../shared/segments/filter';
import { NoFitError } from '../shared/store/predictive';

/** Items read from the store together: one query per kind of data for this many people. */
const BATCH = 1000;

/**
 * The outputs shown in the editor: one per segment, then "No Match" and "Holdout". n8n runs this
 * function in the browser on the node's parameters, so it must stand alone.
 */
const configuredOutputs = (parameters: INodeParameters) => {
	const segments = ((parameters.segments as { segment?: Array<{ name?: string }> } | undefined)?.segment ?? []).map(
		(s, i) => ({ type: 'main', displayName: s.name || `Segment ${i + 1}` }),
	);
	return [...segments, { type: 'main', displayName: 'No Match' }, { type: 'main', displayName: 'Holdout' }];
};

export class SegmentFilter implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Segment Filter',
		name: 'segmentFilter',
		icon: { light: 'file:../../icons/segment-filter.svg', dark: 'file:../../icons/segment-filter.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["matchMode"] === "every" ? "every matching segment" : "first matching segment"}}',
		description: 'Route people by segment: behaviour, funnel stage, RFM, consent, frequency cap, quiet hours, with a holdout',
		defaults: { name: 'Segment Filter' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: `={{(${configuredOutputs})($parameter)}}`,
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
			...personProperties,
			{
				displayName: 'Cart Field',
				name: 'cartField',
				type: 'string',
				default: 'cartId',
				description:
					'The item field holding the cart ID, for the condition "No Order Since the Cart". Items without one use the person\'s latest cart.',
			},
			{
				displayName: 'Segments',
				name: 'segments',
				placeholder: 'Add Segment',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				default: {},
				description: 'Each segment is an output of the node, in this order',
				options: [
					{
						displayName: 'Segment',
						name: 'segment',
						values: [
							{
								displayName: 'Name',
								name: 'name',
								type: 'string',
								default: '',
								required: true,
								placeholder: 'Cart abandoners with consent',
								description: 'The output name, also added to each item as segment.name',
							},
							{
								displayName: 'Conditions',
								name: 'conditions',
								placeholder: 'Add Condition',
								type: 'fixedCollection',
								typeOptions: { multipleValues: true },
								default: {},
								description: 'No condition: everyone matches',
								options: [{ displayName: 'Condition', name: 'condition', values: conditionProperties }],
							},
						],
					},
				],
			},
			{
				displayName: 'Send Each Person To',
				name: 'matchMode',
				type: 'options',
				options: [
					{ name: 'First Matching Segment', value: 'first', description: 'Segments are tried in order; a person leaves by one output' },
					{ name: 'Every Matching Segment', value: 'every', description: 'A person in several segments leaves by each of their outputs' },
				],
				default: 'first',
			},
			{
				displayName: 'Holdout (%)',
				name: 'holdoutPercent',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 100, numberPrecision: 2 },
				default: 0,
				description:
					'Share of matching people sent to the Holdout output instead, to measure lift. Each person is placed by a hash of their ID and the campaign, so they stay in or out on every run.',
			},
			{
				displayName: 'Campaign',
				name: 'campaign',
				type: 'string',
				default: '',
				placeholder: 'cart-recovery',
				description: "Names the holdout draw: another campaign holds out other people. Empty: the workflow's ID.",
			},
		],
	};

	methods = {
		credentialTest: {
			checkPostgresStore,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		// Segments are read once per execution (against the first item), then applied to every item.
		const parsed = segmentsFromParameter(this.getNodeParameter('segments', 0, {}) as SegmentsParameter, this.getTimezone());
		if (!parsed.ok) {
			throw new NodeOperationError(this.getNode(), `The segments cannot be used: ${parsed.problems[0]}`, {
				description: parsed.problems.join('\n'),
			});
		}
		const holdoutPercent = Number(this.getNodeParameter('holdoutPercent', 0, 0));
		const router = new SegmentRouter((await storeFor(this)).driver, {
			segments: parsed.segments,
			firstOnly: this.getNodeParameter('matchMode', 0, 'first') === 'first',
			holdoutPercent,
			campaign: String(this.getNodeParameter('campaign', 0, '') || this.getWorkflow().id || ''),
		});
		const kind = this.getNodeParameter('personIdKind', 0, 'profileId') as PersonKind;
		const personField = String(this.getNodeParameter('personField', 0, 'profileId')).trim();
		const cartField = String(this.getNodeParameter('cartField', 0, 'cartId')).trim();

		const outputs: INodeExecutionData[][] = Array.from({ length: router.holdout + 1 }, () => []);
		for (let start = 0; start < items.length; start += BATCH) {
			const batch = items.slice(start, start + BATCH);
			const inputs = batch.map((item, offset): PersonInput => {
				const person = personOfItem(item.json, kind, personField);
				if (!person && !this.continueOnFail()) {
					throw new NodeOperationError(this.getNode(), `The item has no "${personField}" to find the person by`, {
						itemIndex: start + offset,
						description: 'Set "Person Field" to the field that holds the ID, such as profileId or customer.email.',
					});
				}
				return { person, cartId: cartOfItem(item.json, cartField) };
			});
			const routed = await router.route(inputs).catch((error: unknown) => {
				if (!(error instanceof NoFitError)) throw error;
				throw new NodeOperationError(this.getNode(), error.message, {
					description: 'Probability Still Active, Expected Orders, Predicted Value and Expected Next Order Date Passed read the latest fit of the predictive models.',
				});
			});
			routed.forEach((r, offset) => {
				r.outputs.forEach((output, k) => {
					// Each output's copy names its own segment and what that segment read.
					const name = r.segments[k] ?? r.segment.name;
					const segment = { ...r.segment, name, facts: (name && r.factsBySegment?.[name]) || r.segment.facts };
					const json: IDataObject = { ...batch[offset].json, segment: segment as unknown as IDataObject };
					if (r.profile) json.profile = r.profile as unknown as IDataObject;
					outputs[output].push({ json, pairedItem: { item: start + offset } });
				});
			});
		}
		return outputs;
	}
}
