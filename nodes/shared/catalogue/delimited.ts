import { FeedError } from './errors';

/** One record of a CSV or TSV file, with the line it starts on (1 is the first line of the file). */
export interface DelimitedRecord {
	line: number;
	fields: string[];
}

/**
 * The records of a CSV (RFC 4180) or TSV text: fields may be quoted with `"` (a quote inside doubled),
 * and a quoted field may hold the delimiter and line breaks. Lines end with LF or CRLF; blank lines
 * are skipped. A quote that is never closed is an error of the whole file, as everything after it
 * would be read as one field.
 */
export function* delimitedRecords(text: string, delimiter: ',' | '\t'): Generator<DelimitedRecord> {
	let line = 1;
	let i = 0;
	const n = text.length;
	while (i < n) {
		const start = line;
		const fields: string[] = [];
		let field = '';
		for (;;) {
			if (text[i] === '"') {
				i++;
				for (;;) {
					const quote = text.indexOf('"', i);
					if (quote < 0) throw new FeedError(`a quoted field is never closed`, start);
					const part = text.slice(i, quote);
					field += part;
					line += countNewlines(part);
					if (text[quote + 1] === '"') {
						field += '"';
						i = quote + 2;
					} else {
						i = quote + 1;
						break;
					}
				}
			}
			// Unquoted text, or what follows a closing quote up to the delimiter, is taken as it is.
			let end = i;
			while (end < n && text[end] !== delimiter && text[end] !== '\n') end++;
			field += text.slice(i, end).replace(/\r$/, '');
			i = end;
			fields.push(field);
			field = '';
			if (i < n && text[i] === delimiter) {
				i++;
				continue;
			}
			i++;
			line++;
			break;
		}
		if (fields.length > 1 || fields[0] !== '') yield { line: start, fields };
	}
}

function countNewlines(text: string): number {
	let count = 0;
	for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) count++;
	return count;
}
