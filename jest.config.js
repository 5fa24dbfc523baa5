/**
 * Unit tests are the fast loop (`npm run test:unit`); e2e tests drive a real n8n. ts-jest only
 * transpiles (test and script files import each other with `.ts` extensions, as Node 24 runs them);
 * `npm run typecheck` type-checks them, and `npm test` runs it first.
 */
const tsJest = ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }];
const common = {
	testEnvironment: 'node',
	transform: { '^.+\\.ts$': tsJest },
	modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.test-runs/'],
};

/** @type {import('jest').Config} */
module.exports = {
	reporters: ['default', '<rootDir>/test/harness/summary-reporter.js'],
	projects: [
		{
			...common,
			displayName: 'unit',
			testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
		},
		{
			...common,
			displayName: 'store',
			testMatch: ['<rootDir>/test/store/**/*.test.ts'],
		},
		{
			...common,
			displayName: 'e2e',
			testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
			globalSetup: '<rootDir>/test/harness/global-setup.ts',
			slowTestThreshold: 120,
		},
	],
};
