/**
 * value × 10^scaler as an exact decimal string ("14796777.1" for 147967771 and −1), so a reader can
 * print SML quantities without the rounding of a floating-point multiplication.
 */
export function scaledDecimal(raw: bigint, scaler: number): string {
  const negative = raw < BigInt(0);
  let digits = (negative ? -raw : raw).toString();
  if (scaler >= 0) {
    if (digits !== '0') digits += '0'.repeat(scaler);
  } else {
    const places = -scaler;
    if (digits.length <= places) digits = '0'.repeat(places - digits.length + 1) + digits;
    const whole = digits.slice(0, digits.length - places);
    const frac = digits.slice(digits.length - places).replace(/0+$/, '');
    digits = frac === '' ? whole : `${whole}.${frac}`;
  }
  return negative && digits !== '0' ? `-${digits}` : digits;
}
