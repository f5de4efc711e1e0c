/**
 * Where `xsmeter sim --sml` puts meter 0's optical push stream: a write-only SerialPort (the optical
 * interface's transmitter) into a file or stdout, as the raw bytes an IR head would deliver. At max
 * speed a simulated day is ~20 MB in a few seconds, so bytes are gathered into 64 KB writes; a paced
 * run (--speed realtime or a factor, e.g. into a pty that vzlogger reads) writes each file through.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { SerialPort } from '../modules/ports/bus.js';

const NOTHING = new Uint8Array(0);

export class SmlStreamOutput implements SerialPort {
  /** Bytes written so far. */
  bytes = 0;
  private readonly buffer: Uint8Array;
  private used = 0;

  /** `out` takes each gathered piece (a fresh array it may keep); `bufferBytes` 0 writes each file through. */
  constructor(
    private readonly out: (bytes: Uint8Array) => void,
    bufferBytes = 65_536,
    private readonly onClose: () => void = () => undefined,
  ) {
    this.buffer = new Uint8Array(bufferBytes);
  }

  /** A file (created or truncated) written with writeSync, closed by close(). */
  static toFile(path: string, bufferBytes?: number): SmlStreamOutput {
    const fd = openSync(path, 'w');
    return new SmlStreamOutput(
      (b) => {
        try {
          for (let o = 0; o < b.length; ) o += writeSync(fd, b, o);
        } catch (e) {
          // Node's write error names no path: the dispatcher's line then says which file filled up.
          if ((e as NodeJS.ErrnoException).path === undefined) (e as NodeJS.ErrnoException).path = path;
          throw e;
        }
      },
      bufferBytes,
      () => closeSync(fd),
    );
  }

  write(bytes: Uint8Array): void {
    this.bytes += bytes.length;
    if (bytes.length > this.buffer.length - this.used) this.flush();
    if (bytes.length >= this.buffer.length) {
      this.out(bytes.slice());
      return;
    }
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  read(): Uint8Array {
    return NOTHING;
  }

  flush(): void {
    if (this.used === 0) return;
    this.out(this.buffer.slice(0, this.used));
    this.used = 0;
  }

  close(): void {
    this.flush();
    this.onClose();
  }
}
