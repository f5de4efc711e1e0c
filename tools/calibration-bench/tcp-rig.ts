/**
 * The bench rig over TCP (protocol in rig-protocol.ts): `TcpRig` implements rig.ts's interfaces by
 * talking to a rig process (`xsmeter sim --rig PORT` plays the test bench for a simulated meter),
 * and `RigTcpServer` serves a RigService on 127.0.0.1. Bench time is the rig's: `wait` asks it to
 * advance, and `TcpRig.timing()` is the ServiceClient's clock, whose every sleep advances the rig
 * too, so a simulated meter runs its loop and answers while the bench waits for a response.
 *
 * Node only (sockets); the protocol and the procedure stay portable.
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { fromHex } from '../../modules/core/bytes.js';
import type { ClientTiming } from '../../modules/service/client.js';
import { MAX_ADVANCE_MS, MAX_LINE, RigError, type RigEdge, type RigIdentity, type RigService } from './rig-protocol.js';
import type { BenchRig, BenchTime, CalibrationSwitch, LoadSource, TestLoad, PulseCounter, ReferenceLatch, ReferenceMeter } from './rig.js';

type Response = Record<string, unknown> & { id: number | null; ok: boolean; error?: { code: string; message: string } };

/** Responses carry the edges of an advance (up to MAX_EDGES of them). */
const MAX_RESPONSE = 4 << 20;

/** Splits a byte stream into lines of at most `max` bytes; `onLong` for a line that is longer (dropped up to its newline). */
class LineReader {
  private buf = '';
  private skipping = false;
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onLong: () => void,
    private readonly max = MAX_LINE,
  ) {}
  push(chunk: string): void {
    let s = chunk;
    for (;;) {
      const nl = s.indexOf('\n');
      if (nl < 0) {
        if (!this.skipping) {
          this.buf += s;
          if (this.buf.length > this.max) {
            this.buf = '';
            this.skipping = true;
            this.onLong();
          }
        }
        return;
      }
      const part = s.slice(0, nl);
      s = s.slice(nl + 1);
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      const line = (this.buf + part).replace(/\r$/, '');
      this.buf = '';
      if (line.length > this.max) this.onLong();
      else if (line.trim()) this.onLine(line);
    }
  }
}

/** Serves a RigService on host:port (127.0.0.1 only; port 0: any free port, see `.port`). */
export class RigTcpServer {
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static listen(service: RigService, port = 0): Promise<RigTcpServer> {
    const host = '127.0.0.1';
    return new Promise((resolve, reject) => {
      const server = createServer();
      let self: RigTcpServer | undefined;
      server.on('connection', (s) => {
        self?.sockets.add(s);
        s.setNoDelay(true);
        s.setEncoding('utf8');
        const reply = (line: string) => {
          if (!s.destroyed) s.write(line + '\n');
        };
        // Responses keep request order: each waits for the one before.
        let chain = Promise.resolve();
        const reader = new LineReader(
          (line) => {
            chain = chain.then(async () => reply(await service.handle(line)));
          },
          () => {
            chain = chain.then(() => reply(JSON.stringify({ id: null, ok: false, error: { code: 'line-too-long', message: `request longer than ${MAX_LINE} bytes` } })));
          },
        );
        s.on('data', (d: string) => reader.push(d));
        s.on('error', () => undefined);
        s.on('close', () => self?.sockets.delete(s));
      });
      server.once('error', (e) => reject(new RigError('listen', `cannot listen on ${host}:${port}: ${e.message}`)));
      server.listen(port, host, () => {
        const addr = server.address();
        self = new RigTcpServer(server, typeof addr === 'object' && addr ? addr.port : port);
        resolve(self);
      });
    });
  }

  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The bench's side of a rig channel: rig.ts's interfaces plus the service client's timing. */
export class TcpRig implements BenchRig {
  readonly load: LoadSource;
  readonly reference: ReferenceMeter;
  readonly pulses: PulseCounter;
  readonly time: BenchTime;
  readonly calibrationSwitch: CalibrationSwitch;
  publicKey: Uint8Array | undefined;
  benchKey: Uint8Array | undefined;
  identity: RigIdentity = { chip: '', phases: 1, meterId: '', meterConstant: 0, nowMs: 0 };

  private nowMs = 0;
  /** The reference as of the last response, or as latched at the edge being delivered. */
  private latched: ReferenceLatch;
  private onEdge: ((atMs: number) => void) | undefined;
  private nextId = 1;
  private pending: { id: number; resolve: (r: Response) => void; reject: (e: RigError) => void; timer: ReturnType<typeof setTimeout> } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Why the link is no longer usable (closed, or a request timed out), once it is not. */
  private lost: RigError | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    this.latched = { atMs: 0, activeWh: [0] };
    const self = this;
    this.load = {
      get phases() {
        return self.identity.phases;
      },
      apply: async (loads: readonly TestLoad[]) => {
        for (let p = 0; p < loads.length; p++) {
          const l = loads[p];
          await this.request({ op: 'setLoad', load: { voltage: l.voltage, current: l.current, phaseDeg: l.phaseDeg }, phase: p });
        }
      },
    };
    this.reference = {
      latch: () => ({ atMs: this.latched.atMs, activeWh: this.latched.activeWh.slice() }),
      rms: async () => {
        const r = await this.request({ op: 'readReference' });
        return { voltage: numbers(r.voltage, 'voltage'), current: numbers(r.current, 'current') };
      },
    };
    this.pulses = {
      start: (onEdge) => {
        this.onEdge = onEdge;
      },
      stop: () => {
        this.onEdge = undefined;
      },
    };
    this.time = {
      now: () => this.nowMs,
      wait: async (ms: number) => {
        let left = Math.round(ms);
        while (left > 0) {
          const step = Math.min(left, MAX_ADVANCE_MS);
          await this.advance(step);
          left -= step;
        }
      },
    };
    this.calibrationSwitch = {
      set: async (pressed: boolean) => {
        await this.request({ op: 'setSwitch', level: pressed ? 1 : 0 });
      },
    };
  }

  /** Connects to a rig and identifies it. */
  static async connect(host: string, port: number, options: { timeoutMs?: number } = {}): Promise<TcpRig> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new RigError('connect', `no rig at ${host}:${port} within 2000 ms`, { host, port }));
      }, 2000);
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(new RigError('connect', `cannot connect to the rig at ${host}:${port}: ${e.message}`, { host, port }));
      });
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
    });
    const rig = new TcpRig(socket, timeoutMs);
    rig.listen();
    let r: Response;
    try {
      r = await rig.request({ op: 'identify' });
    } catch (e) {
      socket.destroy();
      throw e;
    }
    const phases = r.phases;
    if (typeof phases !== 'number' || !Number.isInteger(phases) || phases < 1 || phases > 3 || typeof r.meterConstant !== 'number' || typeof r.nowMs !== 'number' || typeof r.chip !== 'string' || typeof r.meterId !== 'string') {
      socket.destroy();
      throw new RigError('bad-response', 'the rig identified itself with an unexpected response', {});
    }
    const ident: RigIdentity = { chip: r.chip, phases, meterId: r.meterId, meterConstant: r.meterConstant, nowMs: r.nowMs };
    if (typeof r.wallMs === 'number' && Number.isFinite(r.wallMs)) {
      const at = { wallMs: r.wallMs, nowMs: ident.nowMs };
      ident.wallMs = r.wallMs;
      rig.time.wallMs = () => at.wallMs + (rig.nowMs - at.nowMs);
    }
    if (typeof r.publicKey === 'string') ident.publicKey = r.publicKey;
    if (typeof r.benchKey === 'string') ident.benchKey = r.benchKey;
    rig.identity = ident;
    rig.nowMs = ident.nowMs;
    rig.latched = { atMs: ident.nowMs, activeWh: new Array<number>(phases).fill(0) };
    try {
      rig.publicKey = ident.publicKey ? fromHex(ident.publicKey) : undefined;
      rig.benchKey = ident.benchKey ? fromHex(ident.benchKey) : undefined;
    } catch {
      socket.destroy();
      throw new RigError('bad-response', 'the rig sent a key that is not hex', {});
    }
    return rig;
  }

  /** ServiceClient timing on the rig's clock: each sleep advances the rig (at least 1 ms). */
  timing(): ClientTiming {
    return {
      ticks: () => this.nowMs,
      sleep: (ms: number) => this.advance(Math.min(MAX_ADVANCE_MS, Math.max(1, Math.round(ms)))),
    };
  }

  /** Sends a raw request line (tests: malformed requests); resolves with the parsed response. */
  raw(line: string): Promise<Response> {
    return this.send(line, null);
  }

  /** Why the rig link is gone (every request now fails at once with this), or undefined while it works. */
  get failure(): RigError | undefined {
    return this.lost;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }

  private listen(): void {
    this.socket.setNoDelay(true);
    this.socket.setEncoding('utf8');
    const reader = new LineReader(
      (line) => this.receive(line),
      () => this.fail(new RigError('bad-response', `rig response longer than ${MAX_RESPONSE} bytes`)),
      MAX_RESPONSE,
    );
    this.socket.on('data', (d: string) => reader.push(d));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
      this.lost ??= new RigError('rig-closed', 'the rig closed the connection');
      this.fail(this.lost);
    });
  }

  private fail(e: RigError): void {
    const p = this.pending;
    this.pending = undefined;
    if (p) {
      clearTimeout(p.timer);
      p.reject(e);
    }
  }

  private receive(line: string): void {
    let r: Response;
    try {
      r = JSON.parse(line) as Response;
    } catch {
      this.fail(new RigError('bad-response', 'the rig sent a line that is not JSON'));
      return;
    }
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.resolve(r);
  }

  private send(line: string, id: number | null): Promise<Response> {
    const go = (): Promise<Response> =>
      new Promise<Response>((resolve, reject) => {
        if (this.lost || this.closed) {
          reject(this.lost ?? new RigError('rig-closed', 'the rig connection is closed'));
          return;
        }
        // A rig that stopped answering is given up: a late response would answer the next request
        // (the protocol is in order), and every later request would cost the time-out again.
        const timer = setTimeout(() => {
          this.lost = new RigError('rig-timeout', `the rig stopped answering (no response within ${this.timeoutMs} ms)`, { id: id ?? -1 });
          this.fail(this.lost);
          this.socket.destroy();
        }, this.timeoutMs);
        this.pending = { id: id ?? -1, resolve, reject, timer };
        this.socket.write(line + '\n');
      });
    const next = this.queue.then(go, go);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async request(body: Record<string, unknown>): Promise<Response> {
    const id = this.nextId++;
    const r = await this.send(JSON.stringify({ id, ...body }), id);
    if (r.id !== id) throw new RigError('bad-response', `rig answered request ${String(r.id)} to request ${id}`, { id });
    if (!r.ok) throw new RigError(r.error?.code ?? 'rig-failed', `rig ${String(body.op)}: ${r.error?.message ?? 'refused'}`, { op: String(body.op) });
    if (typeof r.nowMs === 'number') this.nowMs = r.nowMs;
    return r;
  }

  /** Advances the rig; delivers the edges in that span, each with the reference latched at it. */
  private async advance(ms: number): Promise<void> {
    const r = await this.request({ op: 'advance', ms });
    const edges = Array.isArray(r.edges) ? (r.edges as RigEdge[]) : [];
    for (const e of edges) {
      this.latched = { atMs: e.atMs, activeWh: numbers(e.activeWh, 'edge.activeWh') };
      this.onEdge?.(e.atMs);
    }
    this.latched = { atMs: this.nowMs, activeWh: numbers(r.activeWh, 'activeWh') };
  }
}

function numbers(x: unknown, name: string): number[] {
  if (!Array.isArray(x) || !x.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new RigError('bad-response', `rig response: "${name}" is not an array of numbers`, { field: name });
  return x as number[];
}
