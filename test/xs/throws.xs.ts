// Fails on purpose: the runner must surface an exception raised inside XS.
export function main(): void {
  throw new RangeError('deliberate failure inside the engine');
}
