// Asset steps that `n8n-node build` (tsc + icons) does not do. Runs after it in `npm run build`.
const { copyFileSync, mkdirSync, readdirSync, readFileSync } = require('node:fs');
const { gzipSync } = require('node:zlib');
const { series } = require('gulp');
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
 * What would stop a shipped workflow from importing or running: broken JSON, no fixed id, a node of
 * this package that does not exist, or a connection to a node that is not in the workflow.
 */
function workflowProblems(dir, knownTypes) {
	const known = new Set(knownTypes);
	const problems = [];
	for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
		let wf;
		try {
			wf = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
		} catch (error) {
			problems.push(`${file}: not valid JSON (${error.message})`);
			continue;
		}
		if (typeof wf.id !== 'string' || !/^[A-Za-z0-9]{16}$/.test(wf.id)) {
			problems.push(`${file}: needs a fixed 16-character "id", so that importing it again updates it`);
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
			for (const target of Object.values(outputs).flat(2)) {
				if (target && !names.has(target.node)) {
					problems.push(`${file}: connection from "${from}" to unknown node "${target.node}"`);
				}
			}
		}
	}
	return problems;
}

/** Fails the build when a shipped workflow template has a problem. */
function validateWorkflows(done) {
	const problems = workflowProblems(path.join(root, 'workflows'), ownNodeTypes());
	done(problems.length ? new Error(`Invalid workflow templates:\n  ${problems.join('\n  ')}`) : undefined);
}

/** The browser tracker's budget: it loads on every page of a shop. */
const TRACKER_MAX_GZIP_BYTES = 3 * 1024;

/** Copies tracker.js next to the compiled Tracking Trigger, which serves it; fails when it is over budget. */
function copyTracker(done) {
	const from = path.join(root, 'nodes/TrackingTrigger/tracker/tracker.js');
	const size = gzipSync(readFileSync(from), { level: 9 }).length;
	if (size > TRACKER_MAX_GZIP_BYTES) {
		done(new Error(`tracker.js is ${size} bytes gzipped; the budget is ${TRACKER_MAX_GZIP_BYTES}`));
		return;
	}
	const to = path.join(root, 'dist/nodes/TrackingTrigger/tracker/tracker.js');
	mkdirSync(path.dirname(to), { recursive: true });
	copyFileSync(from, to);
	done();
}

exports.workflowProblems = workflowProblems;
exports.validateWorkflows = validateWorkflows;
exports.default = series(validateWorkflows, copyTracker);
