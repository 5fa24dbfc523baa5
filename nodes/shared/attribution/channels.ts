/**
 * Which channel a touchpoint belongs to, by editable rules: one a line, `field=value[,value…]:
 * Channel`, the first that matches wins. Fields: click (the click ID's parameter, such as gclid),
 * source, medium, campaign (utm_*), kind (visit, email_sent, email_opened, email_clicked, ad_click,
 * ad_impression). A touchpoint logged with its channel keeps it (spelt as the rules spell it); one
 * that matches no rule is Other when it has a source or medium, else Direct.
 */
import { DIRECT, type Touch } from './models';

export interface StoredTouchpoint {
	kind: string;
	channel: string | null;
	source: string | null;
	medium: string | null;
	campaign: string | null;
	/** `parameter:value`, such as `gclid:Cj0…`. */
	clickId: string | null;
	at: number;
}

export const DEFAULT_CHANNEL_RULES = [
	'click=gclid,gbraid,wbraid,msclkid: Paid Search',
	'click=dclid: Display',
	'click=fbclid,ttclid,li_fat_id: Paid Social',
	'click=rt_cid: Email',
	'kind=email_sent,email_opened,email_clicked: Email',
	'kind=ad_impression,ad_click: Display',
	'medium=cpc,ppc,paidsearch,paid_search,sem: Paid Search',
	'medium=paid_social,paidsocial: Paid Social',
	'medium=display,banner,cpm,retargeting: Display',
	'medium=email,newsletter: Email',
	'medium=social,social-network,social-media,sm: Organic Social',
	'medium=affiliate: Affiliate',
	'medium=referral: Referral',
	'medium=organic: Organic Search',
].join('\n');

const FIELDS = ['click', 'source', 'medium', 'campaign', 'kind'] as const;
type Field = (typeof FIELDS)[number];

export interface ChannelRule {
	field: Field;
	values: Set<string>;
	channel: string;
}

/** The rules of the text, or the problem with a line (named by its number). */
export function parseChannelRules(text: string): ChannelRule[] {
	const rules: ChannelRule[] = [];
	text.split(/\r?\n/).forEach((raw, i) => {
		const line = raw.trim();
		if (!line || line.startsWith('#')) return;
		const match = /^(\w+)\s*=\s*([^:]+):\s*(.+)$/.exec(line);
		if (!match) throw new Error(`Channel rules, line ${i + 1}: "${line}" is not field=value: Channel (such as "click=gclid: Paid Search")`);
		const field = match[1].toLowerCase() as Field;
		if (!FIELDS.includes(field)) throw new Error(`Channel rules, line ${i + 1}: "${match[1]}" is not one of ${FIELDS.join(', ')}`);
		const values = new Set(match[2].split(',').map((v) => v.trim().toLowerCase()).filter(Boolean));
		rules.push({ field, values, channel: match[3].trim() });
	});
	return rules;
}

const VIEWS = new Set(['email_sent', 'email_opened', 'ad_impression']);

/** The touch a stored touchpoint is for the models: its channel, campaign and interaction. */
export function touchOf(t: StoredTouchpoint, rules: readonly ChannelRule[]): Touch {
	const interaction = VIEWS.has(t.kind) ? 'view' : 'click';
	// A recorded channel is written as the rules write it when they name it (ESP Send records "email").
	if (t.channel) return { at: t.at, channel: rules.find((r) => r.channel.toLowerCase() === t.channel!.toLowerCase())?.channel ?? t.channel, campaign: t.campaign, interaction };
	const fields: Record<Field, string | null> = {
		click: t.clickId ? t.clickId.split(':')[0].toLowerCase() : null,
		source: t.source?.toLowerCase() ?? null,
		medium: t.medium?.toLowerCase() ?? null,
		campaign: t.campaign?.toLowerCase() ?? null,
		kind: t.kind.toLowerCase(),
	};
	const rule = rules.find((r) => fields[r.field] !== null && r.values.has(fields[r.field]!));
	const channel = rule?.channel ?? (t.source || t.medium ? 'Other' : DIRECT);
	return { at: t.at, channel, campaign: t.campaign, interaction };
}
