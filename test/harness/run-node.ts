/**
 * Runs one n8n node's `execute()` in-process, the way n8n runs it inside a workflow: through
 * n8n-core's own `WorkflowExecute`, so parameters (expressions such as `={{ $json.profileId }}`
 * included) are resolved by n8n, `getNodeParameter`, `continueOnFail`, `pairedItem`, execution
 * hints and `getCredentials` behave as in n8n, and a node that throws fails as it would there.
 *
 * The run starts from the state n8n is in once a node's parent has run: the parent ("Input", a
 * placeholder trigger) has output the given items, and the node is next on the execution stack with
 * those items as its input. So `$json`, `$input`, `$('Input')` and paired items all resolve.
 *
 * Expressions are evaluated by n8n-workflow's `legacy` engine unless a run asks for `vm`, the
 * isolated-vm sandbox `n8n start` uses by default since n8n 2.x (see `expressionEngine`).
 *
 * Two copies of n8n can be used, because n8n code checks `instanceof` against its own classes
 * (n8n-nodes-base's Filter tells its own `NodeOperationError` from others, n8n-core its own
 * `BaseError`) and keeps services in the DI container of its own `@n8n/di`:
 * - our own nodes run on the n8n-core and n8n-workflow of this checkout (the n8n-workflow they
 *   import themselves);
 * - nodes of n8n-nodes-base, from `loadN8nNodeType()`, run on the n8n-core and n8n-workflow of the
 *   installed n8n (`ensureN8nRuntime()`) they were built against.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import type * as N8nCore from 'n8n-core';
import type * as N8nWorkflow from 'n8n-workflow';
import type {
	ICredentialDataDecryptedObject,
	ICredentials,
	ICredentialsHelper,
	ICredentialType,
	IDataObject,
	IHttpRequestOptions,
	IExecuteFunctions,
	INode,
	INodeExecutionData,
	INodeParameters,
	INodeType,
	INodeTypes,
	IRunExecutionData,
	ITaskData,
	IVersionedNodeType,
	IWorkflowBase,
	IWorkflowExecuteAdditionalData,
	NodeExecutionHint,
	WorkflowExecuteMode,
} from 'n8n-workflow';

import { ensureN8nRuntime } from './n8n-runtime.ts';
import { cacheDir, repoRoot } from './paths.ts';

export interface RunNodeOptions {
	nodeType: INodeType | IVersionedNodeType;
	/** Defaults to the version n8n's editor adds a new node with (`defaultVersion`, else the newest). */
	typeVersion?: number;
	/** As the editor saves them: values left out take the node's defaults, `=`-prefixed are expressions. */
	parameters: INodeParameters;
	/** The node's input. Their `json` objects are handed on, not copied, as between nodes in n8n. */
	items: INodeExecutionData[];
	/** Decrypted credential data by credential type name; the node gets one credential of each. */
	credentials?: Record<string, ICredentialDataDecryptedObject>;
	/**
	 * The credential types, by name, whose `authenticate` signs the node's authenticated requests
	 * (`httpRequestWithAuthentication`), as n8n's credentials helper does; see `loadN8nCredentialType()`.
	 */
	credentialTypes?: Record<string, ICredentialType>;
	/** The node's "On Error: Continue" setting (`onError: 'continueRegularOutput'`). */
	continueOnFail?: boolean;
	/** The node's "On Error" setting, for `continueErrorOutput`; overrides `continueOnFail`. */
	onError?: INode['onError'];
	workflowId?: string;
	/** The workflow's timezone setting (`$now`, `$today`, date parsing); n8n's default if left out. */
	timezone?: string;
	/** Defaults to `manual`, as a run from the editor and n8n's own node tests. */
	mode?: WorkflowExecuteMode;
	/**
	 * Which of n8n's expression engines evaluates the node's expressions: `legacy` (in-process) or
	 * `vm` (each evaluation in an isolated-vm sandbox, as `n8n start` does by default since 2.x;
	 * several times slower). Defaults to `N8N_EXPRESSION_ENGINE`, as n8n reads it, else `legacy`.
	 * It is a process-wide setting of n8n-workflow, so runs going on at once must agree on it. `vm`
	 * cannot start under jest (n8n-workflow loads it with a dynamic `import()`), only under Node;
	 * and only in one of the two copies of n8n per process (two isolated-vm addons abort it), so to
	 * compare a node of ours with one of n8n-nodes-base on `vm`, run both on `n8n: 'installed'`.
	 */
	expressionEngine?: ExpressionEngine;
	/**
	 * Which copy of n8n-core runs the node: `local` (this checkout's; the default for our nodes) or
	 * `installed` (the installed n8n's; the default, and the only sensible choice, for
	 * `loadN8nNodeType()`'s). Our nodes keep using the n8n-workflow they import.
	 */
	n8n?: N8nCopy;
	/** The node's name in the workflow; defaults to the name n8n gives a new node of its type. */
	nodeName?: string;
	/** `<package>.<name>`; defaults to `n8n-nodes-base.<name>` for `loadN8nNodeType()`'s, else ours. */
	typeName?: string;
}

export interface NodeRunResult {
	/** One item list per output (an output the node left `null` is an empty list). */
	outputs: INodeExecutionData[][];
	/** What the node threw, when it continued on error (then n8n passes its input on). */
	error?: Error;
	hints: NodeExecutionHint[];
}

export type ExpressionEngine = 'legacy' | 'vm';
export type N8nCopy = 'local' | 'installed';

/** The input node's name, for `$('Input')` in expressions. */
export const INPUT_NODE_NAME = 'Input';
const INPUT_TYPE = 'n8n-nodes-harness.input';
const OWN_PACKAGE = 'n8n-nodes-retargeting';
const BASE_URL = 'http://localhost:5678';

type N8nRequire = (id: string) => unknown;
type ClassOf<T> = abstract new (...args: never[]) => T;
/** The part of `@n8n/di`'s Container used here (typed locally: n8n-core's copy is not ours). */
interface DiContainer {
	get<T>(type: ClassOf<T>): T;
	set<T>(type: ClassOf<T>, instance: T): void;
}
/** The part of n8n's `GlobalConfig` (its own `@n8n/config`) read here: the engine's settings. */
interface ExpressionEngineConfig {
	poolSize: number;
	maxCodeCacheSize: number;
	bridgeTimeout: number;
	bridgeMemoryLimit: number;
	idleTimeout?: number;
	lazyAcquire?: boolean;
	compileCache?: boolean;
}

/**
 * One copy of n8n-core + n8n-workflow, set up once per process (per test file under jest): the
 * modules, the DI services n8n-core looks up while it executes, and the parts of an execution's
 * `additionalData` that stay the same from run to run. Each run then only builds the small per-run
 * objects (a two-node `Workflow`, its hooks and run data), so many calls in a loop stay cheap.
 */
interface Engine {
	copy: N8nCopy;
	core: typeof N8nCore;
	workflow: typeof N8nWorkflow;
	baseAdditionalData: Omit<IWorkflowExecuteAdditionalData, 'hooks' | 'executionId' | 'credentialsHelper'>;
	executions: number;
	/** Starts the `vm` expression engine, once, with the settings n8n would start it with. */
	startVm: () => Promise<void>;
}

/** n8n-nodes-base's types, by the node type object `loadN8nNodeType()` returned. */
const baseNodeTypes = new WeakMap<object, string>();
const loadedNodeTypes = new Map<string, INodeType | IVersionedNodeType>();
let localEngine: Engine | undefined;
/** The copy of n8n that started the vm expression engine: only one can in a process. */
let vmCopy: N8nCopy | undefined;
let installedEngine: Promise<{ engine: Engine; loadFromBase: N8nRequire }> | undefined;

/**
 * What n8n's credentials helper does with a credential type's `authenticate`: a function is called;
 * a generic one has its `={{$credentials.name}}` values filled in and merged into the request's
 * headers, query, body or basic auth.
 */
export async function authenticateWith(type: ICredentialType | undefined, name: string, data: ICredentialDataDecryptedObject, request: IHttpRequestOptions): Promise<IHttpRequestOptions> {
	const authenticate = type?.authenticate;
	if (!authenticate) throw new Error(`The run-node harness was given no credential type ${name} (credentialTypes) to authenticate with`);
	if (typeof authenticate === 'function') return await authenticate(data, request);
	const fill = (value: unknown): unknown =>
		typeof value === 'string' && value.startsWith('=')
			? value.slice(1).replace(/\{\{\s*\$credentials\.(\w+)\s*\}\}/g, (_, key: string) => String(data[key] ?? ''))
			: value;
	const filled = (values: object | undefined): IDataObject => Object.fromEntries(Object.entries(values ?? {}).map(([k, v]) => [k, fill(v)])) as IDataObject;
	const { headers, qs, body, auth } = authenticate.properties;
	return {
		...request,
		headers: { ...request.headers, ...filled(headers) },
		...(qs ? { qs: { ...request.qs, ...filled(qs) } } : {}),
		...(body ? { body: { ...(request.body as object), ...filled(body) } } : {}),
		...(auth ? { auth: filled(auth) as IHttpRequestOptions['auth'] } : {}),
	};
}

/**
 * n8n-workflow's abstract `ICredentialsHelper` (a class of the engine's own copy, so implemented
 * rather than extended) for one run: it hands out the run's credentials by type, as n8n's own node
 * test harness does, each time a fresh copy as n8n decrypts one, and authenticates requests with
 * the credential types given.
 */
function credentialsHelper(
	core: typeof N8nCore,
	byType: Record<string, ICredentialDataDecryptedObject>,
	types: Record<string, ICredentialType>,
): ICredentialsHelper {
	return {
		getParentTypes: () => [],
		isCredentialUsableByNode: () => true,
		authenticate: async (data, typeName, request) => await authenticateWith(types[typeName], typeName, data, request as IHttpRequestOptions),
		preAuthentication: async () => undefined,
		runPreAuthentication: async () => undefined,
		getCredentials: async (): Promise<ICredentials> => new core.Credentials({ id: null, name: '' }, '', ''),
		getDecrypted: async (_additionalData, _nodeCredentials, type) => ({ ...(byType[type] ?? {}) }),
		updateCredentials: async () => {},
		updateCredentialsOauthTokenData: async () => {},
		getCredentialsProperties: () => [],
	};
}

/**
 * Loads n8n-core (and the n8n-workflow and `@n8n/di` that it resolves) through `load`, and does the
 * DI set-up n8n's start-up would: `InstanceSettings` (created on first use by every node execution
 * context) gets a user folder of its own under the cache and a fixed encryption key, with the
 * environment variables it reads set only while it is created; and the `ErrorReporter`, which would
 * log every error a node throws, is silenced (the run rejects with that error instead).
 */
function createEngine(copy: N8nCopy, load: N8nRequire): Engine {
	const coreEntry = (load as NodeJS.Require).resolve('n8n-core');
	const fromCore = createRequire(coreEntry);
	const core = load('n8n-core') as typeof N8nCore;
	const workflow = fromCore('n8n-workflow') as typeof N8nWorkflow;
	const { Container } = fromCore('@n8n/di') as { Container: DiContainer };
	const { GlobalConfig } = fromCore('@n8n/config') as {
		GlobalConfig: ClassOf<{ expressionEngine: ExpressionEngineConfig }>;
	};

	const userFolder = path.join(cacheDir(), 'run-node-user');
	mkdirSync(userFolder, { recursive: true });
	withEnv({ N8N_USER_FOLDER: userFolder, N8N_ENCRYPTION_KEY: 'run-node-harness-key' }, () =>
		Container.get(core.InstanceSettings),
	);
	const quiet = { error() {}, warn() {}, info() {} } as unknown as N8nCore.ErrorReporter;
	Container.set(core.ErrorReporter, quiet);

	let vmStarted: Promise<void> | undefined;
	// As n8n's BaseCommand does at start-up (less its observability provider).
	const startVm = async () => {
		if (vmCopy !== undefined && vmCopy !== copy) {
			throw new Error(
				`n8n's vm expression engine already runs in the ${vmCopy} copy of n8n, and a second one would abort the process: run all nodes with n8n: 'installed', or in separate processes`,
			);
		}
		vmCopy = copy;
		const config = Container.get(GlobalConfig).expressionEngine;
		vmStarted ??= workflow.Expression.initExpressionEngine({
			engine: 'vm',
			poolSize: config.poolSize,
			maxCodeCacheSize: config.maxCodeCacheSize,
			bridgeTimeout: config.bridgeTimeout,
			bridgeMemoryLimit: config.bridgeMemoryLimit,
			idleTimeoutMs: config.idleTimeout === undefined ? undefined : config.idleTimeout * 1000,
			lazyAcquire: config.lazyAcquire,
			compileCache: config.compileCache,
		}).catch((error: unknown) => {
			// It loads @n8n/expression-runtime with import(), which jest allows only with
			// --experimental-vm-modules: the vm engine is for scripts run by Node.
			throw new Error(`Could not start n8n's vm expression engine${process.env.JEST_WORKER_ID ? ' (not possible under jest)' : ''}`, { cause: error });
		});
		await vmStarted;
	};

	const notAvailable = (what: string) => async () => {
		throw new Error(`${what} is not available in the run-node harness`);
	};
	return {
		copy,
		core,
		workflow,
		executions: 0,
		startVm,
		baseAdditionalData: {
			executeWorkflow: notAvailable('Executing a sub-workflow'),
			getRunExecutionData: async () => undefined,
			getRuntimeCredential: async () => undefined,
			currentNodeExecutionIndex: 0,
			restApiUrl: `${BASE_URL}/rest`,
			instanceBaseUrl: `${BASE_URL}/`,
			formBaseUrl: `${BASE_URL}/form`,
			formWaitingBaseUrl: `${BASE_URL}/form-waiting`,
			formTestBaseUrl: `${BASE_URL}/form-test`,
			webhookBaseUrl: `${BASE_URL}/webhook`,
			webhookWaitingBaseUrl: `${BASE_URL}/webhook-waiting`,
			webhookTestBaseUrl: `${BASE_URL}/webhook-test`,
			mcpBaseUrl: `${BASE_URL}/mcp`,
			mcpTestBaseUrl: `${BASE_URL}/mcp-test`,
			variables: {},
			externalSecretsProxy: new core.ExternalSecretsProxy(),
			logAiEvent: () => {},
			startRunnerTask: notAvailable('Running a task runner (Code node) task'),
		},
	};
}

function withEnv<T>(vars: Record<string, string>, body: () => T): T {
	const saved = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]));
	Object.assign(process.env, vars);
	try {
		return body();
	} finally {
		for (const [key, value] of Object.entries(saved)) {
			if (value === undefined) delete process.env[key];
			else process.env[key] = value;
		}
	}
}

function getLocalEngine(): Engine {
	localEngine ??= createEngine('local', createRequire(path.join(repoRoot(), 'package.json')));
	return localEngine;
}

/** The installed n8n (installing it on first use, as the e2e set-up does), loaded once. */
async function getInstalledEngine(): Promise<{ engine: Engine; loadFromBase: N8nRequire }> {
	installedEngine ??= (async () => {
		const { dir } = await ensureN8nRuntime();
		const fromN8n = createRequire(path.join(dir, 'node_modules', 'n8n', 'package.json'));
		const loadFromBase = createRequire(fromN8n.resolve('n8n-nodes-base/package.json'));
		const engine = createEngine('installed', fromN8n);
		if (loadFromBase.resolve('n8n-workflow') !== createRequire(fromN8n.resolve('n8n-core')).resolve('n8n-workflow')) {
			throw new Error(`n8n-nodes-base and n8n-core resolve different copies of n8n-workflow in ${dir}`);
		}
		return { engine, loadFromBase };
	})();
	return await installedEngine;
}

/**
 * A node type of the installed n8n's n8n-nodes-base, by its class name (`'Filter'`, `'If'`,
 * `'GoogleSheets'`), as n8n loads it: found through the package's list of nodes, constructed once.
 * `runNode()` runs it on that n8n's own n8n-core.
 */
export async function loadN8nNodeType(name: string): Promise<INodeType | IVersionedNodeType> {
	const loaded = loadedNodeTypes.get(name);
	if (loaded) return loaded;
	const { loadFromBase } = await getInstalledEngine();
	const manifest = loadFromBase('n8n-nodes-base/package.json') as { n8n: { nodes: string[] } };
	const file = manifest.n8n.nodes.find((entry) => path.basename(entry) === `${name}.node.js`);
	if (!file) throw new Error(`n8n-nodes-base has no node ${name}`);
	const nodeClass = (loadFromBase(`n8n-nodes-base/${file}`) as Record<string, new () => INodeType | IVersionedNodeType>)[name];
	if (typeof nodeClass !== 'function') throw new Error(`n8n-nodes-base/${file} does not export ${name}`);
	const nodeType = new nodeClass();
	baseNodeTypes.set(nodeType, `n8n-nodes-base.${nodeType.description.name}`);
	loadedNodeTypes.set(name, nodeType);
	return nodeType;
}

/** A credential type of the installed n8n's n8n-nodes-base, by its class name (`'SendGridApi'`). */
export async function loadN8nCredentialType(name: string): Promise<ICredentialType> {
	const { loadFromBase } = await getInstalledEngine();
	const manifest = loadFromBase('n8n-nodes-base/package.json') as { n8n: { credentials: string[] } };
	const file = manifest.n8n.credentials.find((entry) => path.basename(entry) === `${name}.credentials.js`);
	if (!file) throw new Error(`n8n-nodes-base has no credential ${name}`);
	const credentialClass = (loadFromBase(`n8n-nodes-base/${file}`) as Record<string, new () => ICredentialType>)[name];
	return new credentialClass();
}

function defaultExpressionEngine(): ExpressionEngine {
	const fromEnv = process.env.N8N_EXPRESSION_ENGINE;
	if (fromEnv === undefined || fromEnv === '') return 'legacy';
	if (fromEnv === 'legacy' || fromEnv === 'vm') return fromEnv;
	throw new Error(`The run-node harness supports the legacy and vm expression engines, not ${fromEnv}`);
}

function isVersioned(nodeType: INodeType | IVersionedNodeType): nodeType is IVersionedNodeType {
	return 'nodeVersions' in nodeType;
}

function defaultVersion(nodeType: INodeType | IVersionedNodeType): number {
	if (isVersioned(nodeType)) return nodeType.currentVersion;
	const { version, defaultVersion } = nodeType.description;
	return defaultVersion ?? (Array.isArray(version) ? Math.max(...version) : version);
}

/** The placeholder parent: a trigger that never runs, whose output the run starts from. */
const inputNodeType: INodeType = {
	description: {
		displayName: 'Input',
		name: 'input',
		group: ['trigger'],
		version: 1,
		description: 'The items handed to the node under test',
		defaults: { name: INPUT_NODE_NAME },
		inputs: [],
		outputs: ['main'],
		properties: [],
	},
	async execute(this: IExecuteFunctions) {
		return [this.getInputData()];
	},
};

/**
 * Runs the node once over `items` and returns its outputs. Rejects with the node's error, unless it
 * continues on error; then the outputs are what n8n passes on (`runNodeTask()` also gives the error).
 */
export async function runNode(options: RunNodeOptions): Promise<INodeExecutionData[][]> {
	return (await runNodeTask(options)).outputs;
}

/** `runNode()`, also returning the error the node continued after and its execution hints. */
export async function runNodeTask(options: RunNodeOptions): Promise<NodeRunResult> {
	const baseType = baseNodeTypes.get(options.nodeType);
	const copy = options.n8n ?? (baseType ? 'installed' : 'local');
	const engine = copy === 'installed' ? (await getInstalledEngine()).engine : getLocalEngine();
	const { core, workflow: n8nWorkflow } = engine;
	const { nodeType } = options;

	const typeVersion = options.typeVersion ?? defaultVersion(nodeType);
	const versionType = n8nWorkflow.NodeHelpers.getVersionedNodeType(nodeType, typeVersion);
	const typeName = options.typeName ?? baseType ?? `${OWN_PACKAGE}.${nodeType.description.name}`;
	let nodeName = options.nodeName ?? versionType.description.defaults.name ?? versionType.description.displayName;
	if (nodeName === INPUT_NODE_NAME) nodeName = `${nodeName}1`;

	const inputNode: INode = {
		id: '00000000-0000-4000-8000-000000000001',
		name: INPUT_NODE_NAME,
		type: INPUT_TYPE,
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	};
	const node: INode = {
		id: '00000000-0000-4000-8000-000000000002',
		name: nodeName,
		type: typeName,
		typeVersion,
		position: [220, 0],
		parameters: structuredClone(options.parameters),
	};
	const onError = options.onError ?? (options.continueOnFail ? 'continueRegularOutput' : undefined);
	if (onError) node.onError = onError;
	if (options.credentials) {
		node.credentials = Object.fromEntries(
			Object.keys(options.credentials).map((type) => [type, { id: `harness-${type}`, name: type }]),
		);
	}

	const nodeTypes: INodeTypes = {
		getByName: (type) => (type === INPUT_TYPE ? inputNodeType : nodeType),
		getByNameAndVersion: (type, version) =>
			type === INPUT_TYPE ? inputNodeType : n8nWorkflow.NodeHelpers.getVersionedNodeType(nodeType, version),
		getKnownTypes: () => ({}),
	};
	const workflowData: IWorkflowBase = {
		id: options.workflowId ?? 'run-node-harness',
		name: 'run-node harness',
		active: false,
		isArchived: false,
		activeVersionId: null,
		createdAt: new Date(0),
		updatedAt: new Date(0),
		nodes: [inputNode, node],
		connections: { [INPUT_NODE_NAME]: { main: [[{ node: nodeName, type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1', ...(options.timezone ? { timezone: options.timezone } : {}) },
	};
	// The constructor adds the parameters' defaults to the nodes, as when n8n loads a saved workflow.
	const workflow = new n8nWorkflow.Workflow({ ...workflowData, nodeTypes, staticData: {} });

	const mode = options.mode ?? 'manual';
	const executionId = String(++engine.executions);
	const hooks = new core.ExecutionLifecycleHooks(mode, executionId, workflowData);
	const additionalData: IWorkflowExecuteAdditionalData = {
		...engine.baseAdditionalData,
		hooks,
		executionId,
		credentialsHelper: credentialsHelper(core, options.credentials ?? {}, options.credentialTypes ?? {}),
	};

	const inputTask: ITaskData = {
		startTime: Date.now(),
		executionIndex: 0,
		executionTime: 0,
		executionStatus: 'success',
		source: [],
		data: { main: [options.items] },
	};
	const runExecutionData: IRunExecutionData = n8nWorkflow.createRunExecutionData({
		resultData: { runData: { [INPUT_NODE_NAME]: [inputTask] }, lastNodeExecuted: INPUT_NODE_NAME },
		executionData: {
			nodeExecutionStack: [
				{
					node: workflow.getNode(nodeName)!,
					data: { main: [options.items] },
					source: { main: [{ previousNode: INPUT_NODE_NAME, previousNodeOutput: 0, previousNodeRun: 0 }] },
				},
			],
		},
	});

	const expressionEngine = options.expressionEngine ?? defaultExpressionEngine();
	if (expressionEngine === 'vm') await engine.startVm();
	n8nWorkflow.Expression.setExpressionEngine(expressionEngine);
	const run = await new core.WorkflowExecute(additionalData, mode, runExecutionData).processRunExecutionData(workflow);

	// After an error the node continued from, n8n still records it as the execution's error.
	const task = run.data.resultData.runData[nodeName]?.[0];
	const continued = onError !== undefined && onError !== 'stopWorkflow' && task?.data !== undefined;
	const failure = run.data.resultData.error;
	if (failure && !continued) throw toError(failure);
	return {
		outputs: (task?.data?.main ?? []).map((items) => items ?? []),
		error: task?.error ? toError(task.error) : undefined,
		hints: task?.hints ?? [],
	};
}

/**
 * n8n keeps a node's error as a plain copy of its fields (message, description, context, node…);
 * this makes an `Error` of it again, with them.
 */
function toError(failure: object): Error {
	if (failure instanceof Error) return failure;
	const { message, stack, ...fields } = failure as { message?: string; stack?: string };
	const error = Object.assign(new Error(message ?? 'The node failed'), fields);
	if (stack) error.stack = stack;
	return error;
}
