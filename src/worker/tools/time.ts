/**
 * The `time` tool: the visitor's current date, time and time zone, from Intl (no network).
 *
 *   getTime(new Date('2024-03-10T12:00:00Z'), 'Europe/Berlin') →
 *   { iso: '2024-03-10T13:00:00+01:00', local: 'Sunday, March 10, 2024 at 1:00:00 PM GMT+1',
 *     date: '2024-03-10', time: '13:00:00', weekday: 'Sunday', timezone: 'Europe/Berlin',
 *     utcOffsetMinutes: 60 }
 *
 * `iso` is ISO 8601 in local time with the UTC offset (whole seconds), so it names the same
 * instant as `now`; `date`/`time` are local (24-hour clock); `weekday` is English (what the model
 * reads best); `local` is the visitor's own locale's long form.
 */
import { ToolError, quote } from './errors.js';

export interface TimeInfo {
  iso: string;
  local: string;
  date: string;
  time: string;
  weekday: string;
  timezone: string;
  utcOffsetMinutes: number;
}

const pad = (n: number, w = 2): string => String(Math.abs(n)).padStart(w, '0');

/** The visitor's IANA time zone (e.g. "Europe/Berlin"); "UTC" when the browser does not say. */
export function localTimeZone(): string {
  try {
    return new Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** The zone as the caller named it: Intl may canonicalize to an older alias ("Asia/Kolkata" comes
 *  back as "Asia/Calcutta" in Chromium), which only the spelling of the case should follow. */
function zoneName(fmt: Intl.DateTimeFormat, asked: string): string {
  const resolved = fmt.resolvedOptions().timeZone;
  return resolved.toLowerCase() === asked.toLowerCase() ? resolved : asked;
}

/** `now` seen in `timeZone` (default: the visitor's). Throws ToolError for an unknown zone. */
export function getTime(now: Date = new Date(), timeZone: string = localTimeZone()): TimeInfo {
  if (!Number.isFinite(now.getTime())) throw new ToolError('invalid date');
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'long',
      era: 'short',
    });
  } catch {
    throw new ToolError(`unknown time zone: ${quote(timeZone)}`);
  }
  const parts = fmt.formatToParts(now);
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  const num = (type: Intl.DateTimeFormatPartTypes): number => Number(part(type));
  // years before 1 AD come as "1 BC" = 0, "2 BC" = -1 (astronomical numbering)
  const year = part('era') === 'BC' ? 1 - num('year') : num('year');
  const [month, day, hour, minute, second] = [num('month'), num('day'), num('hour') % 24, num('minute'), num('second')];

  // the offset: the wall-clock time read as if it were UTC, minus the instant (whole seconds)
  const wall = new Date(0);
  wall.setUTCFullYear(year, month - 1, day);
  wall.setUTCHours(hour, minute, second, 0);
  const instant = Math.floor(now.getTime() / 1000) * 1000;
  const utcOffsetMinutes = Math.round((wall.getTime() - instant) / 60_000);

  const yyyy = year < 0 ? `-${pad(year, 6)}` : year > 9999 ? `+${pad(year, 6)}` : pad(year, 4);
  const date = `${yyyy}-${pad(month)}-${pad(day)}`;
  const time = `${pad(hour)}:${pad(minute)}:${pad(second)}`;
  const sign = utcOffsetMinutes < 0 ? '-' : '+';
  const offset = `${sign}${pad(Math.trunc(utcOffsetMinutes / 60))}:${pad(utcOffsetMinutes % 60)}`;

  let local: string;
  try {
    local = new Intl.DateTimeFormat(undefined, { timeZone, dateStyle: 'full', timeStyle: 'long' }).format(now);
  } catch {
    local = `${date} ${time}`;
  }
  return { iso: `${date}T${time}${offset}`, local, date, time, weekday: part('weekday'), timezone: zoneName(fmt, timeZone), utcOffsetMinutes };
}
