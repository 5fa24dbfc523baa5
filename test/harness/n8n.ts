import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

import { run } from './exec.ts';
import { ensureN8nRuntime, type N8nRuntime } from './n8n-runtime.ts';

export interface StartOptions {
	/** n8n's user folder; n8n keeps its database, settings and community packages under `.n8n/`. */
	userFolder: string;
	/** 0 (the default) picks a free port. */
	port?: number;
	/** Address to listen on; loopback unless told otherwise. */
	listenAddress?: string;
	/** Where n8n's own output goes; `inherit` shows it on this terminal. */
	output?: 'file' | 'inherit';
	/** The kind of process: `start` (a main, the default), `worker` or `webhook` (queue mode). */
	command?: 'start' | 'worker' | 'webhook';
	/** More arguments for the command, such as `--concurrency=5`. */
	args?: string[];
	/** More environment (queue mode, the database, the instance store), over the defaults. */
	env?: Record<string, string>;
	/** The log file's name in the user folder (processes sharing a folder need their own); default n8n.log. */
	logName?: string;
	/** The task broker's port of a main or worker; 0 (the default) picks a free one. */
	brokerPort?: number;
}

export interface Owner {
	email: string;
	password: string;
	firstName: string;
	lastName: string;
}

export interface WorkflowJson {
	id?: string;
	name: string;
	nodes: Array<Record<string, unknown> & { name: string; type: string }>;
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
}

/** The package's Tracking Trigger at `/webhook/<webhookPath>` with a tracking source credential, and more parameters. */
export function trackingTriggerNode(webhookPath: string, source: { id: string; name: string }, parameters: Record<string, unknown> = {}): WorkflowJson['nodes'][number] {
	return {
		id: randomUUID(),
		name: 'Tracking Trigger',
		type: 'n8n-nodes-retargeting.trackingTrigger',
		typeVersion: 1,
		position: [0, 0],
		parameters: { path: webhookPath, ...parameters },
		credentials: { retargetingTrackingApi: source },
	};
}

/** n8n's Webhook node (v2) on POST `webhookPath`, answering at once or with the last node's output. */
export function webhookNode(webhookPath: string, responseMode: 'onReceived' | 'lastNode'): WorkflowJson['nodes'][number] {
	return {
		id: randomUUID(),
		name: 'Webhook',
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		position: [0, 0],
		webhookId: randomUUID(),
		parameters: { httpMethod: 'POST', path: webhookPath, responseMode, options: {} },
	};
}

/** n8n's Split Out node after a Webhook node: one item per element of the request's `field` (such as body.batch). */
export function splitOutNode(field: string): WorkflowJson['nodes'][number] {
	return {
		id: randomUUID(),
		name: 'Split Out',
		type: 'n8n-nodes-base.splitOut',
		typeVersion: 1,
		position: [220, 0],
		parameters: { fieldToSplitOut: field, include: 'noOtherFields', options: {} },
	};
}

export interface Execution {
	id: string;
	workflowId: string;
	status: string;
	mode: string;
	data?: {
		resultData: {
			runData: Record<string, Array<{ data?: { main: Array<Array<{ json: Record<string, unknown> }>> }; [key: string]: unknown }>>;
			error?: { message: string };
		};
	};
}

export async function freePort(): Promise<number> {
	return await new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
		});
	});
}

/** Environment for a quiet, offline, single-main n8n. */
function n8nEnv(options: StartOptions, port: number, brokerPort: number): NodeJS.ProcessEnv {
	return {
		...process.env,
		// Jest sets NODE_ENV=test, under which n8n exits at start-up without a word.
		NODE_ENV: 'production',
		N8N_USER_FOLDER: options.userFolder,
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: options.listenAddress ?? '127.0.0.1',
		N8N_HOST: 'localhost',
		N8N_PROTOCOL: 'http',
		WEBHOOK_URL: `http://localhost:${port}/`,
		N8N_EDITOR_BASE_URL: `http://localhost:${port}/`,
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_SECURE_COOKIE: 'false',
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'true',
		DB_SQLITE_POOL_SIZE: '2',
	};
}

/** A real n8n process started from the cached install, with helpers to drive it over HTTP. */
export class N8nInstance {
	readonly baseUrl: string;
	readonly runtime: N8nRuntime;
	readonly userFolder: string;
	readonly logFile: string | undefined;
	private readonly child: ChildProcess;
	private apiKey: string | undefined;
	private sessionCookie: string | undefined;
	private exited = false;

	private constructor(
		child: ChildProcess,
		runtime: N8nRuntime,
		baseUrl: string,
		userFolder: string,
		logFile: string | undefined,
	) {
		this.child = child;
		this.runtime = runtime;
		this.baseUrl = baseUrl;
		this.userFolder = userFolder;
		this.logFile = logFile;
		child.on('exit', () => {
			this.exited = true;
		});
	}

	/** Runs an n8n CLI command (import, publish, ...) against a user folder, with n8n not running. */
	static async cli(options: StartOptions, args: string[]): Promise<string> {
		const runtime = await ensureN8nRuntime();
		const env = { ...n8nEnv(options, options.port ?? 5678, 5679), ...options.env };
		return await run(process.execPath, [runtime.bin, ...args], { env, quiet: true });
	}

	static async start(options: StartOptions): Promise<N8nInstance> {
		const runtime = await ensureN8nRuntime();
		mkdirSync(options.userFolder, { recursive: true });
		const port = options.port || (await freePort());
		const env = { ...n8nEnv(options, port, options.brokerPort || (await freePort())), ...options.env };
		const logFile = options.output === 'inherit' ? undefined : path.join(options.userFolder, options.logName ?? 'n8n.log');
		const fd = logFile ? openSync(logFile, 'a') : undefined;
		const child = spawn(process.execPath, [runtime.bin, options.command ?? 'start', ...(options.args ?? [])], {
			env,
			// Its own process group, so that stop() also ends the task runner n8n spawns.
			detached: true,
			stdio: fd === undefined ? 'inherit' : ['ignore', fd, fd],
		});
		if (fd !== undefined) closeSync(fd);
		// A worker answers health checks on its own port (QUEUE_HEALTH_CHECK_PORT), the others on N8N_PORT.
		const healthPort = options.command === 'worker' ? Number(env.QUEUE_HEALTH_CHECK_PORT) : port;
		const instance = new N8nInstance(child, runtime, `http://localhost:${healthPort}`, options.userFolder, logFile);
		try {
			await instance.waitUntilReady();
		} catch (error) {
			await instance.stop();
			throw error;
		}
		return instance;
	}

	/** Ends the process at once, with no chance to finish what it was doing (a crash, an OOM kill). */
	kill(): void {
		if (!this.exited && this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL');
	}

	/** Calls back when the n8n process ends, for whatever reason. */
	onExit(listener: () => void): void {
		if (this.exited) listener();
		else this.child.once('exit', listener);
	}

	/** The last lines n8n printed, for failure messages. */
	logTail(lines = 40): string {
		if (!this.logFile) return '';
		return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
	}

	private async waitUntilReady(timeoutMs = 180_000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (Date.now() < deadline) {
			if (this.exited) throw new Error(`n8n exited during start-up:\n${this.logTail()}`);
			try {
				const res = await fetch(`${this.baseUrl}/healthz/readiness`);
				if (res.ok) return;
			} catch {
				// not listening yet
			}
			await new Promise((resolve) => setTimeout(resolve, 500));
		}
		throw new Error(`n8n did not become ready within ${timeoutMs / 1000} s:\n${this.logTail()}`);
	}

	/** Creates the owner account on a new instance, or logs in as that owner on a set-up one. */
	async setupOwner(owner: Owner): Promise<void> {
		const setup = await fetch(`${this.baseUrl}/rest/owner/setup`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(owner),
		});
		let cookie = setup.headers.getSetCookie().find((c) => c.startsWith('n8n-auth='));
		if (!setup.ok) {
			// Already set up (a reused user folder): log in instead.
			const login = await fetch(`${this.baseUrl}/rest/login`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ emailOrLdapLoginId: owner.email, password: owner.password }),
			});
			if (!login.ok) throw new Error(`owner set-up and login failed: ${setup.status} ${await login.text()}`);
			cookie = login.headers.getSetCookie().find((c) => c.startsWith('n8n-auth='));
		}
		if (!cookie) throw new Error('n8n answered without an auth cookie');
		this.sessionCookie = cookie.split(';')[0];
	}

	/** Creates an API key with every scope the owner may grant, for the public API. */
	async createApiKey(): Promise<void> {
		if (!this.sessionCookie) throw new Error('call setupOwner() before creating an API key');
		const headers = { cookie: this.sessionCookie, 'content-type': 'application/json' };
		const scopes = await fetch(`${this.baseUrl}/rest/api-keys/scopes`, { headers });
		if (!scopes.ok) throw new Error(`listing API key scopes failed: ${scopes.status} ${await scopes.text()}`);
		const created = await fetch(`${this.baseUrl}/rest/api-keys`, {
			method: 'POST',
			headers,
			body: JSON.stringify({
				label: `harness ${randomBytes(4).toString('hex')}`,
				scopes: ((await scopes.json()) as { data: string[] }).data,
				expiresAt: null,
			}),
		});
		if (!created.ok) throw new Error(`creating an API key failed: ${created.status} ${await created.text()}`);
		this.apiKey = ((await created.json()) as { data: { rawApiKey: string } }).data.rawApiKey;
	}

	/** Calls n8n's public REST API (`/api/v1`) with the owner's API key. */
	async api<T = unknown>(method: string, route: string, body?: unknown): Promise<T> {
		if (!this.apiKey) throw new Error('call createApiKey() before using the public API');
		const res = await fetch(`${this.baseUrl}/api/v1${route}`, {
			method,
			headers: { 'X-N8N-API-KEY': this.apiKey, 'content-type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await res.text();
		if (!res.ok) throw new Error(`${method} /api/v1${route} answered ${res.status}: ${text}`);
		return (text ? JSON.parse(text) : undefined) as T;
	}

	/** The node types the editor offers, as n8n serves them to its front end. */
	async nodeTypeNames(): Promise<string[]> {
		if (!this.sessionCookie) throw new Error('call setupOwner() before reading node types');
		const res = await fetch(`${this.baseUrl}/types/nodes.json`, { headers: { cookie: this.sessionCookie } });
		if (!res.ok) throw new Error(`GET /types/nodes.json answered ${res.status}`);
		return ((await res.json()) as Array<{ name: string }>).map((type) => type.name);
	}

	async createCredential(type: string, name: string, data: Record<string, unknown>): Promise<string> {
		const created = await this.api<{ id: string }>('POST', '/credentials', { type, name, data });
		return created.id;
	}

	/** What the editor's credential "Test" button answers for these credential values. */
	async testCredential(type: string, data: Record<string, unknown>): Promise<{ status: string; message: string }> {
		if (!this.sessionCookie) throw new Error('call setupOwner() before testing a credential');
		const res = await fetch(`${this.baseUrl}/rest/credentials/test`, {
			method: 'POST',
			headers: { cookie: this.sessionCookie, 'content-type': 'application/json' },
			body: JSON.stringify({ credentials: { id: '', name: 'test', type, data } }),
		});
		if (!res.ok) throw new Error(`POST /rest/credentials/test answered ${res.status}: ${await res.text()}`);
		return ((await res.json()) as { data: { status: string; message: string } }).data;
	}

	/** Saves a workflow (unpublished) and returns its id. */
	async createWorkflow(workflow: WorkflowJson): Promise<string> {
		const { id } = await this.api<{ id: string }>('POST', '/workflows', {
			name: workflow.name,
			nodes: workflow.nodes,
			connections: workflow.connections,
			settings: workflow.settings ?? {},
		});
		return id;
	}

	/** Creates a workflow and publishes it, so that its production webhooks answer. */
	async publishWorkflow(workflow: WorkflowJson): Promise<string> {
		const id = await this.createWorkflow(workflow);
		await this.api('POST', `/workflows/${id}/publish`, {});
		return id;
	}

	/**
	 * Waits until n8n serves a production webhook. Publishing returns before n8n has registered the
	 * workflow's webhooks; a CORS preflight lists the registered methods and has no side effect.
	 */
	async waitForWebhook(webhookPath: string, method = 'POST', timeoutMs = 15_000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const res = await this.webhook(webhookPath, {
				method: 'OPTIONS',
				headers: { origin: this.baseUrl, 'access-control-request-method': method },
			});
			const allowed = res.headers.get('access-control-allow-methods') ?? '';
			if (allowed.split(/\s*,\s*/).includes(method)) return;
			if (Date.now() > deadline) throw new Error(`${method} /webhook/${webhookPath} was not registered in time`);
			await new Promise((resolve) => setTimeout(resolve, 200));
		}
	}

	/** Calls a production webhook, `/webhook/<path>`. */
	async webhook(webhookPath: string, init: RequestInit = {}): Promise<Response> {
		return await fetch(`${this.baseUrl}/webhook/${webhookPath}`, init);
	}

	/** POSTs a batch of events to a Tracking Trigger path with a source's write key; returns its answer. */
	async track(webhookPath: string, writeKey: string, batch: unknown[]): Promise<Record<string, unknown>> {
		const res = await this.webhook(webhookPath, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
			body: JSON.stringify({ batch }),
		});
		return (await res.json()) as Record<string, unknown>;
	}

	async executions(workflowId: string): Promise<Execution[]> {
		const list = await this.api<{ data: Execution[] }>(
			'GET',
			`/executions?workflowId=${encodeURIComponent(workflowId)}&includeData=true&limit=250`,
		);
		return list.data;
	}

	/**
	 * Runs a saved workflow from the editor with a trigger's output pinned, as "Debug in editor"
	 * does with a past execution: the trigger gives these items again instead of running, so the
	 * same execution runs again. Returns the new execution's id.
	 */
	async runWithPinnedTrigger(workflowId: string, triggerName: string, items: Array<{ json: Record<string, unknown> }>): Promise<string> {
		if (!this.sessionCookie) throw new Error('call setupOwner() before running a workflow');
		const headers = { cookie: this.sessionCookie, 'content-type': 'application/json' };
		const rest = async (method: string, route: string, body: unknown) => {
			const res = await fetch(`${this.baseUrl}/rest${route}`, { method, headers, body: JSON.stringify(body) });
			const text = await res.text();
			if (!res.ok) throw new Error(`${method} /rest${route} answered ${res.status}: ${text}`);
			return (JSON.parse(text) as { data: Record<string, unknown> }).data;
		};
		const saved = await (await fetch(`${this.baseUrl}/rest/workflows/${workflowId}`, { headers })).json() as { data: { versionId: string } };
		await rest('PATCH', `/workflows/${workflowId}`, { versionId: saved.data.versionId, pinData: { [triggerName]: items.map((i) => ({ json: i.json })) } });
		const run = await rest('POST', `/workflows/${workflowId}/run`, { triggerToStartFrom: { name: triggerName } });
		if (typeof run.executionId !== 'string') throw new Error(`the manual run started no execution: ${JSON.stringify(run)}`);
		return run.executionId;
	}

	/** Retries a failed or crashed execution as the editor's "Retry with original workflow" does; returns the new execution's id. */
	async retryExecution(id: string): Promise<string> {
		if (!this.sessionCookie) throw new Error('call setupOwner() before retrying an execution');
		const res = await fetch(`${this.baseUrl}/rest/executions/${id}/retry`, {
			method: 'POST',
			headers: { cookie: this.sessionCookie, 'content-type': 'application/json' },
			body: JSON.stringify({ loadWorkflow: false }),
		});
		if (!res.ok) throw new Error(`POST /rest/executions/${id}/retry answered ${res.status}: ${await res.text()}`);
		// The answer does not say which execution the retry is; it is the workflow's newest one since.
		const { workflowId } = await this.api<{ workflowId: string }>('GET', `/executions/${id}`);
		const later = (await this.executions(workflowId)).map((e) => Number(e.id)).filter((n) => n > Number(id));
		if (later.length === 0) throw new Error(`the retry of execution ${id} started no execution`);
		return String(Math.max(...later));
	}

	/** Waits until an execution has finished, and returns it with its data. */
	async waitForExecution(id: string, timeoutMs = 30_000): Promise<Execution> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const execution = await this.api<Execution>('GET', `/executions/${id}?includeData=true`).catch(() => undefined);
			if (execution && execution.status !== 'running' && execution.status !== 'new') return execution;
			if (Date.now() > deadline) throw new Error(`execution ${id} did not finish within ${timeoutMs / 1000} s`);
			await new Promise((resolve) => setTimeout(resolve, 250));
		}
	}

	/** Waits until a workflow has at least `count` finished executions, and returns them. */
	async waitForExecutions(workflowId: string, count: number, timeoutMs = 30_000): Promise<Execution[]> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const done = (await this.executions(workflowId)).filter((e) => e.status !== 'running' && e.status !== 'new');
			if (done.length >= count || Date.now() > deadline) return done;
			await new Promise((resolve) => setTimeout(resolve, 250));
		}
	}

	/** Stops n8n and the processes it started; waits for them to exit. */
	async stop(timeoutMs = 30_000): Promise<void> {
		if (this.exited || this.child.pid === undefined) return;
		const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
		const group = -this.child.pid;
		process.kill(group, 'SIGTERM');
		const timer = setTimeout(() => {
			try {
				process.kill(group, 'SIGKILL');
			} catch {
				// already gone
			}
		}, timeoutMs);
		await exited;
		clearTimeout(timer);
		try {
			// n8n is gone; end anything of its group still alive (a task runner mid-shutdown).
			process.kill(group, 'SIGKILL');
		} catch {
			// nothing left
		}
	}
}
