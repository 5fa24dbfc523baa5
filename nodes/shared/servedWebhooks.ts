import type { IHookFunctions } from 'n8n-workflow';

/**
 * The webhook methods of a trigger whose URLs n8n serves itself: there is no remote subscription to
 * create or remove (a provider's webhook is registered in its own console), but n8n's lint asks
 * every webhook trigger for these three.
 */
export const servedByN8n = {
	default: {
		async checkExists(this: IHookFunctions): Promise<boolean> {
			return true;
		},
		async create(this: IHookFunctions): Promise<boolean> {
			return true;
		},
		async delete(this: IHookFunctions): Promise<boolean> {
			return true;
		},
	},
};
