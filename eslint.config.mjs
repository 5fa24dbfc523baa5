// The package keeps a persistent store (node:sqlite, PostgreSQL), which n8n Cloud's rules forbid
// (no runtime dependencies, no Node built-ins beyond node:crypto). The CLI's non-cloud configuration
// keeps every other community-node rule. See README, "Why not n8n Cloud".
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

export default [
	// Scratch folders of the test harness and of `npm start` (git ignores them too).
	{ ignores: ['.test-runs/**', '.n8n-data/**'] },
	...configWithoutCloudSupport,
	{
		// The test harness and dev scripts never run inside n8n: they start processes (n8n, npm,
		// Chromium) and load the build's own CommonJS files. Rules about node code do not apply there.
		files: ['test/**', 'scripts/**'],
		rules: {
			'@n8n/community-nodes/no-dangerous-functions': 'off',
			'@n8n/community-nodes/require-node-api-error': 'off',
			'@typescript-eslint/no-require-imports': 'off',
		},
	},
];
