const hourFormats = new Map<string, Intl.DateTimeFormat>();

/** The hour (0 to 23) at `now` in an IANA time zone; formatters are made once per zone. */
export function localHour(zone: string, now: number): number {
	let format = hourFormats.get(zone);
	if (!format) {
		format = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: 'numeric', hourCycle: 'h23' });
		hourFormats.set(zone, format);
	}
	return Number(format.format(now));
}

/** Whether Intl knows the zone (Europe/Paris, UTC); people's traits may hold anything. */
export function isTimeZone(zone: string): boolean {
	if (hourFormats.has(zone)) return true;
	try {
		localHour(zone, 0);
		return true;
	} catch {
		return false;
	}
}
