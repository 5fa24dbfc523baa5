import { NodeOperationError } from 'n8n-workflow';
import type { IExecuteFunctions, INodeExecutionData, INodeParameters, INodeType } from 'n8n-workflow';

import { loadN8nNodeType, runNode, runNodeTask } from '../harness/run-node.ts';

const companies: INodeExecutionData[] = [
	{ json: { name: 'Alpha', country: 'FR', headcount: 50 } },
	{ json: { name: 'Bravo', country: 'FR', headcount: 49 } },
	{ json: { name: 'Charlie', country: 'DE', headcount: 500 } },
	{ json: { name: 'Delta', country: 'fr', headcount: 80 } },
	{ json: { name: 'Echo', country: 'FR', headcount: 1000 } },
];

/** Filter v2.2's conditions as n8n's editor saves them (`options: {}`: case-sensitive, strict types). */
const frenchAndBig: INodeParameters = {
	conditions: {
		options: { caseSensitive: true, leftValue: '', typeValidation: 'strict', version: 2 },
		conditions: [
			{
				id: '6f1c3a52-1f0e-4c61-9d55-0b8e0f0b4c01',
				leftValue: '={{ $json.country }}',
				rightValue: 'FR',
				operator: { type: 'string', operation: 'equals' },
			},
			{
				id: '6f1c3a52-1f0e-4c61-9d55-0b8e0f0b4c02',
				leftValue: '={{ $json.headcount }}',
				rightValue: 50,
				operator: { type: 'number', operation: 'gte' },
			},
		],
		combinator: 'and',
	},
	options: {},
};

const names = (items: INodeExecutionData[]) => items.map((item) => item.json.name);

describe("n8n's Filter node (v2.2) run in-process by the run-node harness", () => {
	let filter: Awaited<ReturnType<typeof loadN8nNodeType>>;

	beforeAll(async () => {
		filter = await loadN8nNodeType('Filter');
	});

	test('keeps the French companies of 50 people or more, and returns the rest as its Discarded list', async () => {
		const [kept, discarded, ...more] = await runNode({ nodeType: filter, typeVersion: 2.2, parameters: frenchAndBig, items: companies });
		expect(names(kept)).toEqual(['Alpha', 'Echo']);
		// Filter v2 has one output, but returns what it drops as a second list: the editor shows it
		// as "Discarded" in the node's output; nothing is connected to it.
		expect(names(discarded)).toEqual(['Bravo', 'Charlie', 'Delta']);
		expect(more).toEqual([]);
		expect(kept.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 4 }]);
	});

	test('fails on a value of the wrong type, unless the node continues on error (then drops it)', async () => {
		const items = [{ json: { name: 'Foxtrot', country: 'FR', headcount: '60' } }, ...companies];
		await expect(runNode({ nodeType: filter, typeVersion: 2.2, parameters: frenchAndBig, items })).rejects.toThrow(
			"Wrong type: '60' is a string but was expecting a number [condition 1, item 0]",
		);
		const task = await runNodeTask({ nodeType: filter, typeVersion: 2.2, parameters: frenchAndBig, items, continueOnFail: true });
		expect(names(task.outputs[0])).toEqual(['Alpha', 'Echo']);
		expect(names(task.outputs[1])).toEqual(['Foxtrot', 'Bravo', 'Charlie', 'Delta']);
		expect(task.error).toBeUndefined();
	});
});

/** A trivial node of our own kind: one output item per input item, its parameters resolved per item. */
const greeter: INodeType = {
	description: {
		displayName: 'Greeter',
		name: 'greeter',
		group: ['transform'],
		version: 1,
		description: 'Greets each item',
		defaults: { name: 'Greeter' },
		inputs: ['main'],
		outputs: ['main'],
		credentials: [{ name: 'greeterApi', required: false }],
		properties: [
			{ displayName: 'Greeting', name: 'greeting', type: 'string', default: 'Hello' },
			{ displayName: 'Recipient', name: 'recipient', type: 'string', default: '' },
			{ displayName: 'Punctuation', name: 'punctuation', type: 'string', default: '!' },
			{ displayName: 'Sign With Credential', name: 'sign', type: 'boolean', default: false },
		],
	},
	async execute(this: IExecuteFunctions) {
		const out: INodeExecutionData[] = [];
		const items = this.getInputData();
		for (let i = 0; i < items.length; i++) {
			try {
				const recipient = this.getNodeParameter('recipient', i) as string;
				if (!recipient) throw new NodeOperationError(this.getNode(), 'Nobody to greet', { itemIndex: i });
				let greeting = `${this.getNodeParameter('greeting', i) as string} ${recipient}${this.getNodeParameter('punctuation', i) as string}`;
				if (this.getNodeParameter('sign', i) as boolean) {
					greeting += ` (${(await this.getCredentials('greeterApi')).signature as string})`;
				}
				out.push({ json: { greeting } });
			} catch (error) {
				if (!this.continueOnFail()) throw error;
				out.push({ json: { error: (error as Error).message }, pairedItem: { item: i } });
			}
		}
		return [out];
	},
};

describe('a node of ours run in-process by the run-node harness', () => {
	const people = [{ json: { name: 'Ada', city: 'Paris' } }, { json: { name: 'Linus', city: 'Lyon' } }];

	test('gets its expression parameters resolved per item by n8n, its defaults and its pairedItem set', async () => {
		const [out] = await runNode({
			nodeType: greeter,
			parameters: { recipient: "={{ $json.name }} from {{ $('Input').item.json.city.toUpperCase() }}" },
			items: people,
		});
		expect(out).toEqual([
			{ json: { greeting: 'Hello Ada from PARIS!' }, pairedItem: { item: 0 } },
			{ json: { greeting: 'Hello Linus from LYON!' }, pairedItem: { item: 1 } },
		]);
	});

	test('fails on an item as n8n does, or continues when set to', async () => {
		// n8n renders a missing value as an empty string.
		const items = [...people, { json: { city: 'Nice' } }];
		const parameters = { recipient: '={{ $json.name }}' };
		await expect(runNode({ nodeType: greeter, parameters, items })).rejects.toThrow('Nobody to greet');
		const [out] = await runNode({ nodeType: greeter, parameters, items, continueOnFail: true });
		expect(out.map((item) => item.json)).toEqual([
			{ greeting: 'Hello Ada!' },
			{ greeting: 'Hello Linus!' },
			{ error: 'Nobody to greet' },
		]);
	});

	test('passes its input on with the error when it throws and continues on error, as n8n does', async () => {
		const thrower: INodeType = {
			description: { ...greeter.description, displayName: 'Thrower', name: 'thrower', defaults: { name: 'Thrower' } },
			async execute(this: IExecuteFunctions) {
				throw new NodeOperationError(this.getNode(), 'Out of order');
			},
		};
		await expect(runNode({ nodeType: thrower, parameters: {}, items: people })).rejects.toThrow('Out of order');
		const task = await runNodeTask({ nodeType: thrower, parameters: {}, items: people, continueOnFail: true });
		expect(task.outputs).toEqual([people.map((item, index) => ({ ...item, pairedItem: { item: index } }))]);
		expect(task.error?.message).toBe('Out of order');
	});

	test('reads the credential it is given', async () => {
		const [out] = await runNode({
			nodeType: greeter,
			parameters: { greeting: 'Hi', recipient: '={{ $json.name }}', punctuation: '.', sign: true },
			items: people.slice(0, 1),
			credentials: { greeterApi: { signature: 'the team' } },
		});
		expect(out[0].json).toEqual({ greeting: 'Hi Ada. (the team)' });
	});
});
