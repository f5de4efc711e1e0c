/**
 * A millisecond time as ISO 8601 text for people, for times that come from outside (records read
 * from flash or a file, a meter's clock): `Date` ends at ±8.64e15 ms (year 275760) and its
 * toISOString() throws a RangeError beyond, where a record's 64-bit time goes on to 2^53.
 */
export function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms} ms (no calendar date)` : d.toISOString();
}
