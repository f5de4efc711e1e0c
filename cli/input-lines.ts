/**
 * The lines of a text input (`decode`'s stdin), split where Node's readline splits them (\n, \r\n,
 * \r), but bounded: readline keeps a line whole whatever its length, and an input without newlines
 * (`< /dev/zero`) crashed it past V8's longest string. A line longer than `maxLength` characters is
 * dropped as it arrives and given as `{ tooLong }` (its length) at its end; reading goes on. Ends
 * early, between lines, when `signal` aborts (Ctrl-C, a closed stdout), also while no input comes.
 * A read error (stdin a directory) is thrown.
 */
export type InputLine = string | { tooLong: number };

/** Chunks held before the input is paused (the reader decodes one line at a time). */
const QUEUED_CHUNKS = 16;

export async function* inputLines(input: NodeJS.ReadableStream, maxLength: number, signal: AbortSignal): AsyncGenerator<InputLine> {
  const queue: string[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const decoder = new TextDecoder();
  const onData = (chunk: Buffer | string): void => {
    queue.push(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    if (queue.length >= QUEUED_CHUNKS) input.pause();
    notify();
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onError = (e: Error): void => {
    failure = e;
    notify();
  };
  input.on('data', onData);
  input.on('end', onEnd);
  input.on('error', onError);
  signal.addEventListener('abort', notify);
  let line = '';
  /** Length of the over-long line being dropped (-1: none). */
  let dropping = -1;
  /** The last chunk ended in \r: a \n first in the next one ends no line. */
  let afterCr = false;
  try {
    for (;;) {
      if (signal.aborted) return;
      if (failure) throw failure;
      const chunk = queue.shift();
      if (chunk === undefined) {
        if (ended) break;
        input.resume();
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      let from = afterCr && chunk.startsWith('\n') ? 1 : 0;
      afterCr = false;
      for (;;) {
        const end = nextBreak(chunk, from);
        const piece = chunk.slice(from, end < 0 ? chunk.length : end);
        if (dropping >= 0) dropping += piece.length;
        else if (line.length + piece.length > maxLength) {
          dropping = line.length + piece.length;
          line = '';
        } else line += piece;
        if (end < 0) break;
        yield dropping >= 0 ? { tooLong: dropping } : line;
        line = '';
        dropping = -1;
        if (signal.aborted) return;
        from = end + 1;
        if (chunk[end] === '\r') {
          if (end + 1 === chunk.length) afterCr = true;
          else if (chunk[end + 1] === '\n') from++;
        }
      }
    }
    const tail = decoder.decode();
    if (dropping >= 0) yield { tooLong: dropping + tail.length };
    else if (line.length + tail.length > 0) yield line.length + tail.length > maxLength ? { tooLong: line.length + tail.length } : line + tail;
  } finally {
    input.off('data', onData);
    input.off('end', onEnd);
    input.off('error', onError);
    signal.removeEventListener('abort', notify);
    input.pause();
  }
}

function nextBreak(s: string, from: number): number {
  const n = s.indexOf('\n', from);
  const r = s.indexOf('\r', from);
  return n < 0 ? r : r < 0 ? n : Math.min(n, r);
}
