import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import ts from 'typescript';

/**
 * The folders of nodes/shared/ (store, events, segments, ...) are layers: two that import each other
 * can no longer be read, tested or moved one without the other. The loose files directly in
 * nodes/shared/ are each their own group: some are n8n-facing glue that imports the folders
 * (feedbackCredentials.ts → feedback), others leaf helpers the folders import (feedback →
 * secrets.ts); as one "root" group, those two unrelated imports would read as a cycle.
 */
const SHARED = path.resolve('nodes/shared');

/** Source path (relative to nodes/shared, `/`-separated) → its text. */
type Sources = Map<string, string>;

function sharedSources(): Sources {
	const files = readdirSync(SHARED, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
	return new Map(files.map((file) => [file.split(path.sep).join('/'), readFileSync(path.join(SHARED, file), 'utf8')]));
}

function groupOf(file: string): string {
	const [first, ...rest] = file.split('/');
	return rest.length ? first : first.replace(/\.ts$/, '');
}

/** One import between two groups, with the file that makes it, to name in a failure. */
interface Edge {
	to: string;
	file: string;
	specifier: string;
}

/** Every import, export-from, import() and require() of another group, read by TypeScript's own pre-parser. */
function groupGraph(sources: Sources): Map<string, Edge[]> {
	const graph = new Map<string, Edge[]>();
	for (const [file, text] of sources) {
		const from = groupOf(file);
		for (const { fileName: specifier } of ts.preProcessFile(text, true, true).importedFiles) {
			if (!specifier.startsWith('.')) continue;
			const target = path.posix.relative('nodes/shared', path.posix.join('nodes/shared', path.posix.dirname(file), specifier));
			if (target.startsWith('..')) continue;
			const to = groupOf(target);
			if (to === from) continue;
			const edges = graph.get(from) ?? [];
			if (!edges.some((edge) => edge.to === to)) edges.push({ to, file, specifier });
			graph.set(from, edges);
		}
	}
	return graph;
}

/** A shortest cycle through each group that has one, written `a → b (a/x.ts: '../b/y'), b → a (...)`. */
function cycles(graph: Map<string, Edge[]>): string[] {
	const found = new Map<string, string>();
	for (const start of [...graph.keys()].sort()) {
		// Breadth-first from start's targets back to start gives the shortest cycle through it.
		const via = new Map<string, Edge & { from: string }>();
		const queue = [start];
		while (queue.length && !via.has(start)) {
			const group = queue.shift() as string;
			for (const edge of graph.get(group) ?? []) {
				if (via.has(edge.to)) continue;
				via.set(edge.to, { ...edge, from: group });
				queue.push(edge.to);
			}
		}
		if (!via.has(start)) continue;
		const steps: Array<Edge & { from: string }> = [];
		let at = start;
		do {
			const step = via.get(at) as Edge & { from: string };
			steps.unshift(step);
			at = step.from;
		} while (at !== start);
		const members = steps.map((step) => step.from);
		const key = [...members].sort().join(',');
		if (!found.has(key)) {
			found.set(key, steps.map((step) => `${step.from} → ${step.to} (${step.file}: '${step.specifier}')`).join(', '));
		}
	}
	return [...found.values()];
}

describe('folders of nodes/shared', () => {
	it('import each other without a cycle', () => {
		expect(cycles(groupGraph(sharedSources()))).toEqual([]);
	});

	it('the check finds a cycle, through several folders, and names the imports that make it', () => {
		const sources: Sources = new Map([
			['a/one.ts', "import { b } from '../b/two';\nimport { http } from '../http';"],
			['b/two.ts', "export { c } from '../c/three';"],
			['c/three.ts', "import type { A } from '../a/one';\nimport './local';"],
			['http.ts', "import { z } from 'zod';"],
			['glue.ts', "import { a } from './a/one';"],
		]);
		expect(cycles(groupGraph(sources))).toEqual([
			"a → b (a/one.ts: '../b/two'), b → c (b/two.ts: '../c/three'), c → a (c/three.ts: '../a/one')",
		]);
		sources.set('c/three.ts', "import { http } from '../http';");
		expect(cycles(groupGraph(sources))).toEqual([]);
	});
});
