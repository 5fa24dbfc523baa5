// Asset steps that `n8n-node build` (tsc + icons) does not do. Runs after it in `npm run build`.
const { readdirSync, readFileSync } = require('node:fs');
const path = require('node:path');

const root = __dirname;
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const PACKAGE_PREFIX = `${pkg.name}.`;

/** The node type names this package declares, read from the compiled node files. */
function ownNodeTypes() {
	return pkg.n8n.nodes.map((file) => {
		const exported = require(path.join(root, file));
		const NodeClass = Object.values(exported)[0];
		return PACKAGE_PREFIX + new NodeClass().description.name;
	});
}

/**
 * Fails the build when a shipped workflow would not import: broken JSON, a node of this package
 * that does not exist, or a connection to a node that is not in the workflow.
 */
function validateWorkflows(done) {
	const dir = path.join(root, 'workflows');
	const known = new Set(ownNodeTypes());
	const problems = [];
	for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
		let wf;
		try {
			wf = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
		} catch (error) {
			problems.push(`${file}: not valid JSON (${error.message})`);
			continue;
		}
		if (typeof wf.id !== 'string' || wf.id.length === 0) {
			problems.push(`${file}: needs a fixed "id" so that re-importing updates it instead of duplicating it`);
		}
		if (!Array.isArray(wf.nodes) || wf.nodes.length === 0) {
			problems.push(`${file}: has no nodes`);
			continue;
		}
		const names = new Set(wf.nodes.map((n) => n.name));
		for (const node of wf.nodes) {
			if (node.type.startsWith(PACKAGE_PREFIX) && !known.has(node.type)) {
				problems.push(`${file}: node "${node.name}" has type ${node.type}, which this package does not declare`);
			}
		}
		for (const [from, outputs] of Object.entries(wf.connections ?? {})) {
			if (!names.has(from)) problems.push(`${file}: connection from unknown node "${from}"`);
			for (const targets of Object.values(outputs).flat(2)) {
				if (targets && !names.has(targets.node)) {
					problems.push(`${file}: connection from "${from}" to unknown node "${targets.node}"`);
				}
			}
		}
	}
	done(problems.length ? new Error(`Invalid workflow templates:\n  ${problems.join('\n  ')}`) : undefined);
}

exports.validateWorkflows = validateWorkflows;
exports.default = validateWorkflows;
