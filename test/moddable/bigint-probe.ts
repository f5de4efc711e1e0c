/**
 * XS 8.2.3 (and 5.11) compare a run-time BigInt with a BigInt preloaded into flash wrongly by ==,
 * ===, != and !== (its strict-equality opcode has no case for a BigInt in RAM against one in ROM),
 * while <, >, Object.is and Map keys are right. This module is preloaded; its constants are the
 * ROM side. test/moddable-crypto.test.ts reads the lines and pins the behaviour of the SDK in use.
 */
const SEVEN = 7n;
const ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

export function probeBigIntEquality(out: (line: string) => void): void {
  const seven = BigInt(Date.now() > 0 ? 7 : 8); // made at run time
  const order = BigInt(`0x${ORDER.toString(16)}`);
  out(`bigint-probe rom===ram ${SEVEN === seven} ${ORDER === order}`);
  out(`bigint-probe rom==ram ${SEVEN == seven} ${ORDER == order}`); // eslint-disable-line eqeqeq
  out(`bigint-probe rom!==ram ${SEVEN !== seven} ${ORDER !== order}`);
  out(`bigint-probe rom<ram rom>ram ${SEVEN < seven || SEVEN > seven} ${ORDER < order || ORDER > order}`);
  out(`bigint-probe Object.is ${Object.is(SEVEN, seven)} ${Object.is(ORDER, order)}`);
  out(`bigint-probe ram===ram ${seven === BigInt(7)} ${order === BigInt(`0x${order.toString(16)}`)}`);
}
