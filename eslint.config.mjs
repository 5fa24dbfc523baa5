// The package keeps a persistent store (node:sqlite, PostgreSQL), which n8n Cloud's rules forbid
// (no runtime dependencies, no Node built-ins beyond node:crypto). The CLI's non-cloud configuration
// keeps every other community-node rule. See README, "Why not n8n Cloud".
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

export default configWithoutCloudSupport;
