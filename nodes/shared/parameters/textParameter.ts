import type { IExecuteFunctions } from 'n8n-workflow';

/** A text parameter of item `i`, trimmed; an expression that resolves to nothing (a missing field) is empty, not "undefined". */
export function textParameter(ctx: IExecuteFunctions, name: string, i: number): string {
	return String(ctx.getNodeParameter(name, i, '') ?? '').trim();
}
