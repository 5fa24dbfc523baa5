import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { INodeType } from 'n8n-workflow';

// The build's own validator (gulpfile.js), so the test checks what `npm run build` enforces.
const { workflowProblems } = require('../../gulpfile.js') as {
	workflowProblems(dir: string, knownTypes: string[]): string[];
};

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; n8n: { nodes: string[] } };

/** The node types package.json declares, read from the node sources. */
function declaredNodeTypes(): string[] {
	return pkg.n8n.nodes.map((compiled) => {
		const source = path.resolve(compiled.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
		const NodeClass = Object.values(require(source) as Record<string, new () => INodeType>)[0];
		return `${pkg.name}.${new NodeClass().description.name}`;
	});
}

describe('workflow templates', () => {
	it('every shipped workflow uses declared nodes, has a fixed id and consistent connections', () => {
		expect(workflowProblems(path.resolve('workflows'), declaredNodeTypes())).toEqual([]);
	});

	describe('the validator', () => {
		let dir: string;
		beforeEach(() => {
			dir = mkdtempSync(path.join(tmpdir(), 'rt-workflows-'));
		});
		afterEach(() => rmSync(dir, { recursive: true, force: true }));

		const write = (name: string, content: unknown) =>
			writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));

		it('reports broken JSON, a missing id, an unknown node type and a dangling connection', () => {
			write('broken.json', '{ "name": ');
			write('bad.json', {
				name: 'Bad',
				nodes: [{ name: 'Trigger', type: 'n8n-nodes-retargeting.noSuchNode' }],
				connections: { Trigger: { main: [[{ node: 'Nowhere', type: 'main', index: 0 }]] } },
			});
			const problems = workflowProblems(dir, ['n8n-nodes-retargeting.trackingTrigger']);
			expect(problems).toEqual([
				expect.stringMatching(/^bad\.json: needs a fixed 16-character "id"/),
				'bad.json: node "Trigger" has type n8n-nodes-retargeting.noSuchNode, which this package does not declare',
				'bad.json: connection from "Trigger" to unknown node "Nowhere"',
				expect.stringMatching(/^broken\.json: not valid JSON/),
			]);
		});

		it('accepts nodes of n8n itself and of this package', () => {
			write('ok.json', {
				id: 'AbCdEfGh12345678',
				name: 'Ok',
				nodes: [
					{ name: 'Trigger', type: 'n8n-nodes-retargeting.trackingTrigger' },
					{ name: 'Pass', type: 'n8n-nodes-base.noOp' },
				],
				connections: { Trigger: { main: [[{ node: 'Pass', type: 'main', index: 0 }]] } },
			});
			expect(workflowProblems(dir, ['n8n-nodes-retargeting.trackingTrigger'])).toEqual([]);
		});
	});
});
