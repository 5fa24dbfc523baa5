/** The report shaped for a spreadsheet (one flat row per figure) or an email (HTML tables). */
import { escapeHtml } from '../html';
import { MODEL_LABELS, type ModelName } from './models';
import type { AttributionReport } from './report';

export type ReportRow = Record<string, string | number | null> & { section: string };

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** One row per figure, each naming its section: the shape a spreadsheet or a table node takes. */
export function reportRows(report: AttributionReport, period: { from: string; to: string }): ReportRow[] {
	const rows: ReportRow[] = [{ section: 'total', from: period.from, to: period.to, conversions: round(report.conversions, 4), revenue: round(report.revenue) }];
	for (const r of report.byChannel) {
		rows.push({ section: 'channel', model: r.model, modelName: MODEL_LABELS[r.model], channel: r.channel, campaign: r.campaign, conversions: round(r.conversions, 4), revenue: round(r.revenue), share: report.revenue ? round(r.revenue / report.revenue, 4) : 0 });
	}
	report.topPaths.forEach((p, i) => rows.push({ section: 'path', rank: i + 1, path: p.path, conversions: round(p.conversions, 4), revenue: round(p.revenue) }));
	for (const t of report.timeToConversion) rows.push({ section: 'timeToConversion', bucket: t.bucket, conversions: round(t.conversions, 4) });
	for (const l of report.pathLength) rows.push({ section: 'pathLength', touches: l.touches, conversions: round(l.conversions, 4) });
	for (const l of report.lift) {
		rows.push({
			section: 'lift',
			campaign: l.campaign,
			treated: l.treated,
			treatedConversions: l.treatedConversions,
			treatedRate: round(l.treatedRate, 4),
			holdout: l.holdout,
			holdoutConversions: l.holdoutConversions,
			holdoutRate: round(l.holdoutRate, 4),
			lift: l.lift === null ? null : round(l.lift, 4),
			differenceLow: round(l.differenceLow, 4),
			differenceHigh: round(l.differenceHigh, 4),
			incrementalConversions: round(l.incrementalConversions, 2),
			incrementalRevenue: round(l.incrementalRevenue),
		});
	}
	return rows;
}

const money = (n: number) => n.toLocaleString('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const count = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 1 });
const percent = (n: number) => `${(n * 100).toLocaleString('en', { maximumFractionDigits: 1 })} %`;

function table(head: string[], body: Array<Array<string | number>>): string {
	const cell = (tag: string, value: string | number, right: boolean) => `<${tag} style="padding:4px 8px;border-bottom:1px solid #ddd;text-align:${right ? 'right' : 'left'}">${escapeHtml(String(value))}</${tag}>`;
	const row = (cells: Array<string | number>, tag: string) => `<tr>${cells.map((c, i) => cell(tag, c, i > 0)).join('')}</tr>`;
	return `<table style="border-collapse:collapse;font-family:sans-serif;font-size:14px">${row(head, 'th')}${body.map((cells) => row(cells, 'td')).join('')}</table>`;
}

/** The report as an email body: revenue by channel under each model, lift, top paths, timing. */
export function reportHtml(report: AttributionReport, models: readonly ModelName[], period: { from: string; to: string }): string {
	const channels = [...new Set(report.byChannel.map((r) => r.channel))].sort();
	const revenueOf = (model: ModelName, channel: string) => report.byChannel.filter((r) => r.model === model && r.channel === channel).reduce((s, r) => s + r.revenue, 0);
	const parts = [
		`<h2 style="font-family:sans-serif">Attribution, ${escapeHtml(period.from.slice(0, 10))} to ${escapeHtml(period.to.slice(0, 10))}</h2>`,
		`<p style="font-family:sans-serif">${escapeHtml(count(report.conversions))} conversions, ${escapeHtml(money(report.revenue))} revenue (refunds taken off).</p>`,
		'<h3 style="font-family:sans-serif">Revenue by channel</h3>',
		table(['Channel', ...models.map((m) => MODEL_LABELS[m])], channels.map((c) => [c, ...models.map((m) => money(revenueOf(m, c)))])),
	];
	if (report.lift.length) {
		parts.push(
			'<h3 style="font-family:sans-serif">Lift against the holdout</h3>',
			table(
				['Campaign', 'Treated', 'Conv. rate', 'Holdout', 'Conv. rate', 'Lift', '95 % interval (points)', 'Incremental revenue'],
				report.lift.map((l) => [
					l.campaign,
					count(l.treated),
					percent(l.treatedRate),
					count(l.holdout),
					percent(l.holdoutRate),
					l.lift === null ? 'n/a' : percent(l.lift),
					`${(l.differenceLow * 100).toFixed(1)} to ${(l.differenceHigh * 100).toFixed(1)}`,
					money(l.incrementalRevenue),
				]),
			),
		);
	}
	if (report.topPaths.length) {
		parts.push('<h3 style="font-family:sans-serif">Top conversion paths</h3>', table(['Path', 'Conversions', 'Revenue'], report.topPaths.map((p) => [p.path, count(p.conversions), money(p.revenue)])));
	}
	parts.push(
		'<h3 style="font-family:sans-serif">Time to conversion</h3>',
		table(['From the first touch', 'Conversions'], report.timeToConversion.map((t) => [t.bucket, count(t.conversions)])),
		'<h3 style="font-family:sans-serif">Path length</h3>',
		table(['Touches', 'Conversions'], report.pathLength.map((l) => [l.touches, count(l.conversions)])),
	);
	return parts.join('\n');
}
