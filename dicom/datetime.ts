/**
 * DICOM dates and times (PS3.5 6.2: DA, TM, DT) as seconds on one clock, for durations between them (the
 * decay between an injection and a scan).
 *
 * - DA `YYYYMMDD` (the old `YYYY.MM.DD` too); TM `HH[MM[SS[.F{1,6}]]]` (the old `HH:MM:SS` too); DT
 *   `YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]`.
 * - Wall-clock times: an offset from UTC at the end of a DT is not applied (a study's times are all written in
 *   one place's time; DA and TM carry none, and mixing the two would move one of them by hours).
 *
 * @module
 */

const DAY = 86_400;

/** Seconds from 1970-01-01 to 00:00 of a DA value (`YYYYMMDD`); undefined unless it is a valid date. */
export function dateSeconds(da: string | undefined): number | undefined {
  const m = /^(\d{4})\.?(\d{2})\.?(\d{2})$/.exec(da?.trim() ?? "");
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
    return undefined;
  }
  return ms / 1000;
}

/** Seconds since midnight of a TM value; undefined unless it is a valid time. */
export function timeSeconds(tm: string | undefined): number | undefined {
  const m = /^(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d{1,6}))?)?)?$/.exec(tm?.trim() ?? "");
  if (!m) return undefined;
  const [h, min, s] = [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
  // 60 is a leap second (PS3.5 allows it)
  if (h > 23 || min > 59 || s > 60) return undefined;
  return h * 3600 + min * 60 + s + (m[4] ? Number(`0.${m[4]}`) : 0);
}

/** A DA and a TM value as one instant (seconds); undefined unless both are valid. */
export function dateTimeSeconds(da: string | undefined, tm: string | undefined): number | undefined {
  const day = dateSeconds(da);
  const time = timeSeconds(tm);
  return day === undefined || time === undefined ? undefined : day + time;
}

/** A DT value as an instant (seconds; a UTC offset is not applied); undefined unless it has a date and a time. */
export function dtSeconds(dt: string | undefined): number | undefined {
  const m = /^(\d{8})(\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?)(?:[+-]\d{4})?$/.exec(dt?.trim() ?? "");
  return m ? dateTimeSeconds(m[1], m[2]) : undefined;
}

/** A duration in seconds as `1 h 05 min 10 s` (for messages). */
export function formatDuration(seconds: number): string {
  const sign = seconds < 0 ? "-" : "";
  let rest = Math.round(Math.abs(seconds));
  const days = Math.floor(rest / DAY);
  rest -= days * DAY;
  const h = Math.floor(rest / 3600);
  const min = Math.floor((rest % 3600) / 60);
  const s = rest % 60;
  const parts = [days ? `${days} d` : "", h || days ? `${h} h` : "", `${String(min).padStart(2, "0")} min`];
  return `${sign}${parts.filter(Boolean).join(" ")} ${String(s).padStart(2, "0")} s`;
}
