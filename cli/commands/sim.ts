/** `xsmeter sim`: simulated meters and a simulated gateway on simulated time (hosts/sim/sim-runner.ts). */
import { parseFrame } from '../../modules/wmbus/frame-parse.js';
import { frameLengthFromL } from '../../modules/wmbus/frame.js';
import { airtimeMs } from '../../modules/wmbus/phy.js';
import { LOAD_PROFILES, isLoadProfile } from '../../hosts/sim/physics/load-profile.js';
import { BAUD_RATES, DEFAULT_BAUD, SerialDevice } from '../../hosts/sim/serial-device.js';
import { TcpSerialListener } from '../../hosts/sim/service-transport.js';
import type { SerialPort } from '../../modules/ports/bus.js';
import { SIM_STATE_VERSION, SimRunner, meterIdOf, meterSeed, shardRange, type Shard, type SimSummary, type Speed, type TelegramEvent } from '../../hosts/sim/sim-runner.js';
import { DEFAULT_WALL_START, SIM_RATED_POWER_W } from '../../hosts/sim/sim-meter.js';
import { maxSamplePeriodMs } from '../../modules/app/meter-app.js';
import { fromHex as hexBytes } from '../../modules/core/bytes.js';
import { RigService } from '../../tools/calibration-bench/rig-protocol.js';
import { SimBenchRig, benchSimMeter } from '../../tools/calibration-bench/sim-rig.js';
import { RigTcpServer } from '../../tools/calibration-bench/tcp-rig.js';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { lockDirectory } from '../../hosts/sim/directory.js';
import { GEOMETRY as FLASH_IMAGE } from '../../hosts/sim/meter-slice.js';
import type { TariffSwitch } from '../../modules/metrology/tariff.js';
import type { MeterStatus } from '../../modules/app/meter-status.js';
import { SmlStreamOutput } from '../sml-output.js';
import { pinEntrySpanMs } from '../../hosts/sim/light-sensor.js';
import { replayEntries } from './decode.js';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { CliError, checkWritableFile, decimalInteger, decimalNumber, parseOptions, readInputFile, readJsonFile, stopSignal, usageError, type CliIo, type Command } from '../command.js';
import { isSimKeysFile } from '../../hosts/sim/sim-key-store.js';
import { ProgressDisplay, formatTable, group, stamp } from '../sim-display.js';

/** Lowercase hex, as toHex writes it, by Node's encoder: a fleet prints one line per telegram. */
function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

const help = `usage: xsmeter sim [options]

Runs simulated meters (the meter application on register-level simulated chips, flash, clock and
radio) and a simulated gateway that decodes every telegram with the strict receiver. By default it
prints a live table and, at the end, a summary (telegrams sent, decoded, rejected, deferred by the
radio duty cycle, throughput: meter-days per CPU-minute with the set-up and after it, and the
set-up's CPU a meter).

  --meters N          number of meters in the fleet (default 3; up to 1 000 000 per process, more
                      with --shard)
  --chip NAME         ade7953 (1 phase), atm90e32 (3 phases) or mixed (default ade7953)
  --duration D        simulated time to run: 1d, 2h, 15m, 30s, 500ms (default 1d)
  --speed S           max (default), realtime, or a factor (e.g. 60: one simulated minute per second)
  --interval D        telegram interval (default 15m; sent with ±10 % jitter, first one at random)
  --sample D          metrology sample period (default 1s up to 10 meters, 60s above); at most 73s
                      with ADE7953 meters, 85s with ATM90E32 ones: the simulated meters are rated
                      13.8 kW a phase, and in a longer period an energy register could wrap unseen.
                      An ADE7953 nets import and export within a sample: a period that does not
                      divide 5 minutes (the loads' slots) shows that loss for PV prosumers
  --mode 5|7          OMS security mode (default 7); --insecure sends plain mode-0 telegrams
  --radio T1|C1       wireless M-Bus mode (default T1)
  --cc1101            transmit through the CC1101 driver and its register-level simulator
  --load PROFILE      ${LOAD_PROFILES.join(', ')}, or mixed: households and PV
                      prosumers alternating (default mixed)
  --seed N            seed of the fleet: meter ids, keys and loads (default 1)
  --state DIR         keep the meters' flash, keys and the gateway's state in DIR (written through and
                      saved every simulated hour and at exit); a run on an existing DIR continues it
                      with its saved --meters, --chip, --seed, --load, --mode, --radio, --cc1101,
                      --tariffs (another value for one of them is refused, exit 2)
  --format F          table (default), json, hex or rtlwmbus: one line per telegram (the summary
                      then goes to stderr)
  --duty-cycle X      radio duty-cycle limit as a fraction (default 0.001: 3.6 s per hour)
  --workers N         threads that run the meters (default: one per CPU from 200 meters, else 1;
                      1 with --listen, --serial or --sml, which refuse more); the output is the same whatever N
  --shard I/N         simulate only shard I of N of the fleet (1 ≤ I ≤ N): meters ⌊(I−1)·M/N⌋ to
                      ⌊I·M/N⌋−1 of the --meters M fleet, with the ids, keys, seeds and loads they
                      have in the whole fleet, so N processes (on N machines, each with its own
                      --state) together give the unsharded run; merge their json lines with sort -m
  --progress D        when not on a terminal, a progress line on stderr every D (default 10s; 0: none)
  --tariffs SPEC      daily tariff switches (UTC), e.g. 06:00=1,22:00=2: tariff registers 1.8.1/1.8.2
                      and 2.8.1/2.8.2 besides the totals (default: one tariff); a fleet setting
  --sml FILE          write meter 0's optical info interface to FILE (- for stdout): the SML file it
                      pushes every second (SML 1.04, transport v1), raw bytes as an IR head reads
                      them; xsmeter sml decode, libsml or vzlogger read it. With - the table and the
                      summary go to stderr (not with --format json, hex or rtlwmbus)
  --sml-pin PIN       meter 0's customer PIN (4 digits; on a real meter provisioned by the metering
                      point operator): after it is flashed at the optical sensor, the push shows the
                      current power (1-0:16.7.0) for 2 minutes (default: no PIN, never shown)
  --pin-at T[=DIGITS][,…]  the simulated customer flashes the PIN (or DIGITS) at the sensor T after
                      the run's start (e.g. 12h, or 12h,13h=0000): d flashes for digit d, ten for 0,
                      0.5 s apart, 4 s between digits
  --listen PORT       serve meter 0's service interface on tcp://127.0.0.1:PORT (0: any free port;
                      the URL is printed to stderr); use with --speed realtime or a factor
  --serial PATH       serve it on a serial device instead (a USB-serial adapter or a pty slave,
                      set raw with stty; --baud N, default ${DEFAULT_BAUD}); also with --rig
  --rig PORT          play the calibration bench's test rig instead of running a fleet: ONE meter as
                      it arrives at the bench (factory-sealed, no load, random board errors of --seed,
                      --chip ade7953|atm90e32), whose time moves only when the bench asks; its
                      service interface on --listen PORT and the rig channel (load source, reference
                      meter, pulse counter, calibration switch, advance time; newline-delimited JSON,
                      tools/calibration-bench/rig-protocol.ts) on 127.0.0.1:PORT (0: any free port).
                      Prints "service tcp://…" and "rig tcp://…" on stdout and runs until SIGINT/SIGTERM.
                      Then: xsmeter bench calibrate --target tcp://… --rig tcp://… --class 0.5S
  --clock-offset S    (--rig) the bench meter's clock this far off the bench's true time (default 0)

Long runs show their progress: set-up (meters made), then the simulated time, the share done and
an estimated end — redrawn in place on a terminal, else as periodic lines on stderr. The summary
gives the peak resident memory; from 20 000 meters a process keeps its heaps close to their live
data (100 000 meters × 1 h: about 1.9 GB, 1.5 min on two CPUs).
SIGINT / SIGTERM stop the run within a second, also during set-up: what was reached is saved and
the summary printed, exit 0. A reader that closes stdout early (| head) stops it the same way, quietly.
Machine formats: 'hex' is the frame with its CRCs (xsmeter decode --key ID:HEX reads it; the keys
are in DIR/meters/ID/keys.json with --state); 'json' carries the gateway's decoded values and verdict.
`;

/** Buffered telegram lines are written at least this often (characters). */
const LINES_FLUSH = 1 << 16;

/** Byte → its two lowercase hex digits as ASCII, first digit in the low byte. */
const HEX_PAIRS = hexPairs();

function hexPairs(): Uint16Array {
  const t = new Uint16Array(256);
  const digit = (n: number) => (n < 10 ? 48 + n : 87 + n);
  for (let b = 0; b < 256; b++) t[b] = digit(b >> 4) | (digit(b & 15) << 8);
  return t;
}

/**
 * --format hex lines written as bytes: each frame's hex digits go straight into an ASCII buffer
 * (a string per line, its concatenation and the UTF-8 encoding of the whole cost ~3 times as much,
 * and a fleet prints one line per telegram). A full buffer is handed to the writer and a new one
 * started (the stream may still hold the old one).
 */
class HexLines {
  private buf = new Uint8Array(LINES_FLUSH);
  private n = 0;
  constructor(private readonly write: (bytes: Uint8Array) => void) {}

  add(frame: Uint8Array): void {
    const len = frame.length;
    if (this.n + 2 * len + 1 > this.buf.length) {
      this.flush();
      if (2 * len + 1 > this.buf.length) this.buf = new Uint8Array(2 * len + 1);
    }
    const buf = this.buf;
    let n = this.n;
    for (let i = 0; i < len; i++) {
      const v = HEX_PAIRS[frame[i]];
      buf[n] = v & 0xff;
      buf[n + 1] = v >> 8;
      n += 2;
    }
    buf[n++] = 10;
    this.n = n;
  }

  flush(): void {
    if (this.n === 0) return;
    this.write(this.buf.subarray(0, this.n));
    this.buf = new Uint8Array(LINES_FLUSH);
    this.n = 0;
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** '1d', '2h', '15m', '30s', '500ms', '1.5h' → milliseconds. */
export function parseDuration(text: string, what: string): number {
  // Not trimmed: a padded value is refused like every other number of the command line.
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
  if (!m) throw new CliError(`${what}: "${text}" is not a duration (e.g. 1d, 2h, 15m, 30s, 500ms)`, 2);
  // Rounded first: 0.4ms is 0 ms, and a run of 0 ms waited for ever for its first epoch.
  const ms = Math.round(Number(m[1]) * UNITS[m[2]]);
  if (!(ms > 0)) throw new CliError(`${what} must be at least 1ms, got "${text}"`, 2);
  return ms;
}

/** The longest --duration: 100 years (a meter's life is a fifth of it). */
const MAX_DURATION_MS = 36_525 * 86_400_000;
/** A saved fleet's and its meters' times lie from the simulator's start to here. */
const STATE_TIME_END_MS = Date.UTC(2300, 0, 1);

/** Fleets from this size run with V8's heaps kept close to their live data (see its use): half a
 *  city. Below it the memory is there (50 000 meters × 1 h, two workers, peak 1.20 GB without, 1.05
 *  with) and the CPU is not: at 20 000 meters × 6 h in one thread the lean heap cost 10 % of the
 *  CPU after the set-up and 18 % with it (three pairs run side by side), for 12 % less at the peak. */
const LEAN_HEAP_METERS = 50_000;

function duration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${(ms / 1000).toFixed(ms % 1000 ? 1 : 0)} s`;
}

/** The rate after the set-up, and the set-up's CPU a meter: a fleet's set-up is a one-off (each
 *  new meter's keys, log and seal: three P-256 multiplications), the rate what each further day costs. */
function afterSetUp(s: SimSummary): string {
  if (s.meterDaysPerCpuMinuteAfterSetUp === undefined || s.meters === 0) return '';
  return `, ${group(s.meterDaysPerCpuMinuteAfterSetUp)} after the set-up (${(s.setUpCpuMs / s.meters).toFixed(2)} ms of CPU a meter)`;
}

/** The error class 1 allows a meter (IEC 62053-21), as a fraction: the registers' bound against the
 *  simulated load's true energy. */
const CLASS_1 = 0.01;

/** Whether the run's own checks failed (exit 1): a counter sent twice, values the gateway did not
 *  get, energy lost without the fault flag, registers off the true energy by more than class 1. */
export function checksFailed(s: SimSummary): boolean {
  return s.gatewayMismatches > 0 || s.unflaggedDrops > 0 || (s.byCode['counter-replay'] ?? 0) > 0 || (s.worstDeviation ?? 0) > CLASS_1;
}

export function formatSummary(s: SimSummary): string[] {
  const sec = s.realMs / 1000;
  const lines = [
    `${s.interrupted ? 'interrupted after' : 'simulated'} ${duration(Math.round(s.simulatedMs))} (${stamp(s.startWallMs)} → ${stamp(s.endWallMs)} UTC) of ${s.meters} meter${s.meters === 1 ? '' : 's'} in ${sec.toFixed(1)} s: ${group(s.factor)} × real time`,
    `telegrams: ${s.sent} sent, ${s.decoded} decoded, ${s.rejected} rejected${s.rejected ? ` (${Object.entries(s.byCode).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}, ${s.deferred} deferred by the duty cycle`,
    `throughput: ${group(s.throughput)} telegrams/s, ${group(s.meterDaysPerCpuMinute)} meter-days per CPU-minute (${s.workers} thread${s.workers === 1 ? '' : 's'})${afterSetUp(s)}; peak memory ${(s.peakResidentBytes / 1e6).toFixed(0)} MB resident`,
  ];
  if (s.setUpMeters !== undefined) lines[0] = `interrupted during set-up after ${group(s.setUpMeters)} of ${group(s.meters)} meters`;
  const checks: string[] = [];
  if (s.gatewayMismatches === 0 && s.decoded > 0) checks.push("the gateway's last values equal each meter's registers");
  else if (s.gatewayMismatches > 0) checks.push(`${s.gatewayMismatches} meters' last decoded values differ from what they sent`);
  if (s.registerDrops > 0) checks.push(`${s.registerDrops} telegrams with A+ or A- below the meter's previous one (${s.unflaggedDrops ? `${s.unflaggedDrops} without the metrology-fault flag` : 'all with the metrology-fault flag'})`);
  if (s.worstDeviation !== undefined) {
    const pct = s.worstDeviation < 1e-5 ? '0.001' : (s.worstDeviation * 100).toPrecision(2);
    checks.push(s.worstDeviation > CLASS_1 ? `registers ${pct} % off the simulated load's true energy: FAILED, class 1 allows 1 %` : `registers within ${pct} % of the simulated load's true energy (class 1 allows 1 %)`);
  }
  if (checks.length) lines.push(`check: ${checks.join('; ')}`);
  if (s.metrologyFaults || s.radioErrors) lines.push(`faults: ${s.metrologyFaults} metrology, ${s.radioErrors} radio`);
  if (s.resumed) lines.push('continued from the saved state');
  return lines;
}

function rtlwmbusLine(e: TelegramEvent): string {
  const p = parseFrame(e.air.frame, e.air.format);
  const noCrc = new Uint8Array(p.dll.length + p.body.length);
  noCrc.set(p.dll, 0);
  noCrc.set(p.body, p.dll.length);
  const ts = new Date(e.air.wallMs).toISOString().replace('T', ' ').replace('Z', '');
  return `${e.air.mode};1;1;${ts};97;100;${e.air.meterId};0x${hexOf(noCrc)}`;
}

/** A telegram's JSON line: what JSON.stringify gives for { time, meter, airtimeMs, verdict, error }
 *  or { …, verdict: 'ok', counter, access, mode, status, flags, values }, written out property by
 *  property (JSON.stringify of the whole was an eighth of a JSON run's CPU, 2000 meters × 1 d). */
function jsonLine(e: TelegramEvent): string {
  const v = e.verdict;
  const head = `{"time":"${new Date(e.air.wallMs).toISOString()}"${prop('meter', e.air.meterId)}${prop('airtimeMs', Number(e.air.airtimeMs.toFixed(3)))}`;
  if (!v.ok) return `${head}${prop('verdict', v.code)}${prop('error', v.message)}}`;
  const t = v.telegram;
  const values: Record<string, number | string | null> = {};
  for (const x of t.values) if (x.obis) values[x.obis] = x.value;
  const flags = v.reading.flags === undefined ? '' : `,"flags":${statusJson(v.reading.flags)}`;
  return `${head},"verdict":"ok"${prop('counter', t.messageCounter)}${prop('access', t.accessNumber)}${prop('mode', t.securityMode)},"status":${statusJson(v.status)}${flags},"values":${JSON.stringify(values)}}`;
}

/** `,"name":value` as JSON.stringify writes a property (nothing when the value is undefined). */
function prop(name: string, value: string | number | undefined): string {
  return value === undefined ? '' : `,"${name}":${JSON.stringify(value)}`;
}

/** A status's JSON, made once per object: the gateway shares one frozen status per status byte. */
const statusJsons = new WeakMap<MeterStatus, string>();
function statusJson(s: MeterStatus): string {
  let j = statusJsons.get(s);
  if (j === undefined) statusJsons.set(s, (j = JSON.stringify(s)));
  return j;
}

function tcpPort(v: string | undefined, name: string): number {
  const port = Number(v);
  if (v === undefined || !/^\d+$/.test(v) || port > 65535) throw new CliError(`--${name} must be a TCP port 0…65535, got "${v}"`, 2);
  return port;
}

/** `--rig PORT`: one bench meter on virtual time, driven by the bench over the rig channel. */
/** The meter's service port: --serial PATH (a serial device) or --listen PORT (TCP on 127.0.0.1). */
async function servicePort(o: Record<string, string | boolean | undefined>): Promise<(SerialPort & { close(): Promise<void> }) & { url?: string; path?: string }> {
  if (o.serial !== undefined && o.listen !== undefined) throw new CliError('--serial and --listen are two places for the same service interface: give one', 2);
  if (o.baud !== undefined && o.serial === undefined) throw new CliError('--baud is only for --serial PATH', 2);
  if (o.serial !== undefined) {
    const baud = o.baud === undefined ? DEFAULT_BAUD : decimalNumber(o.baud as string);
    if (!BAUD_RATES.includes(baud)) throw new CliError(`--baud ${o.baud} is not a serial line speed (${BAUD_RATES.join(', ')})`, 2);
    try {
      return await SerialDevice.open(o.serial as string, { baud });
    } catch (e) {
      throw usageError((e as Error).message);
    }
  }
  return TcpSerialListener.listen(tcpPort(o.listen as string, 'listen'));
}

async function runRig(o: Record<string, string | boolean | undefined>, chip: string, seed: number, io: CliIo): Promise<number> {
  if (o.listen === undefined && o.serial === undefined) throw new CliError('--rig needs --listen PORT or --serial PATH (the meter\'s service interface)', 2);
  if (chip === 'mixed') throw new CliError('--rig runs one meter: --chip ade7953 or atm90e32', 2);
  // The bench meter is made by benchSimMeter alone: a fleet's option would be silently ignored.
  for (const k of ['meters', 'duration', 'speed', 'state', 'format', 'interval', 'sample', 'mode', 'insecure', 'radio', 'duty-cycle', 'load', 'cc1101', 'tariffs', 'sml', 'sml-pin', 'pin-at', 'workers', 'shard', 'progress']) {
    if (o[k] !== undefined) throw new CliError(`--${k} does not apply to --rig (one bench meter on the bench's time)`, 2);
  }
  const rigPort = tcpPort(o.rig as string, 'rig');
  const offset = o['clock-offset'] === undefined ? 0 : decimalNumber(o['clock-offset'] as string);
  if (!Number.isFinite(offset)) throw usageError(`--clock-offset must be seconds, got "${o['clock-offset']}"`);
  const clockErrorMs = Math.round(offset * 1000);
  const listener = await servicePort(o);
  const meter = benchSimMeter({ chip: chip as 'ade7953' | 'atm90e32', seed, errors: 'random', service: listener, wallStartMs: DEFAULT_WALL_START + clockErrorMs });
  const sim = new SimBenchRig(meter, { clockErrorMs });
  const keys = meter.keys.toFile();
  const service = new RigService(sim, {
    chip: meter.chipName,
    meterId: meter.meterId,
    meterConstant: 1000,
    // The meter reads service bytes at once, not at its next sample.
    beforeAdvance: () => meter.tick(),
    publicKey: meter.keys.devicePublicKey(),
    benchKey: hexBytes(keys.benchKey),
  });
  let rig: RigTcpServer;
  try {
    rig = await RigTcpServer.listen(service, rigPort);
  } catch (e) {
    await listener.close();
    throw usageError((e as Error).message);
  }
  io.stdout(`service ${listener.url ?? listener.path}\nrig ${rig.url}\n`);
  io.stderr(`xsmeter sim: bench meter XSM${meter.meterId} (${meter.chipName}, seed ${seed}); its time moves when the rig is told to advance\n`);
  // Requests that need no time (identify, reads) are answered even when nobody advances.
  const idle = setInterval(() => meter.tick(), 20);
  const stop = stopSignal(io);
  if (!stop.aborted) await new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }));
  clearInterval(idle);
  meter.app.stop();
  await rig.close();
  await listener.close();
  io.stderr(`xsmeter sim: bench meter stopped after ${(meter.clock.ticks() / 3_600_000).toFixed(2)} h of bench time, ${meter.app.part.calibration.sealed ? 'sealed' : 'not sealed'}\n`);
  return 0;
}

/** What a saved fleet was made with (DIR/sim.json "config"): continuing it keeps these. */
interface FleetSettings {
  meters: number;
  chip: string;
  seed: number;
  load: string;
  security: 0 | 5 | 7;
  radioMode: string;
  radio: string;
  tariffs: string;
}

const FLEET_OPTION: Record<keyof FleetSettings, (v: FleetSettings[keyof FleetSettings]) => string> = {
  meters: (v) => `--meters ${v}`,
  chip: (v) => `--chip ${v}`,
  seed: (v) => `--seed ${v}`,
  load: (v) => `--load ${v}`,
  security: (v) => (v === 0 ? '--insecure' : `--mode ${v}`),
  radioMode: (v) => `--radio ${v}`,
  radio: (v) => (v === 'cc1101' ? '--cc1101' : 'no --cc1101'),
  tariffs: (v) => (v === '' ? 'no --tariffs' : `--tariffs ${v}`),
};

/** Refuses a --sample longer than the fleet's chips allow at the simulated meters' rating
 *  (modules/app maxSamplePeriodMs): their energy registers could wrap unseen between two samples. */
function checkSamplePeriod(samplePeriodMs: number, chip: string, given: string): void {
  const chips = chip === 'mixed' ? (['ade7953', 'atm90e32'] as const) : chip === 'atm90e32' ? (['atm90e32'] as const) : (['ade7953'] as const);
  for (const c of chips) {
    const max = maxSamplePeriodMs({ chip: c, ratedPowerW: SIM_RATED_POWER_W });
    if (samplePeriodMs > max) {
      throw usageError(
        `--sample ${given} is longer than the ${duration(max)} in which the ${c.toUpperCase()}'s energy registers cannot wrap unseen at the simulated meters' ${SIM_RATED_POWER_W / 1000} kW a phase (a load that steps between two samples would lose or invent counts)`,
      );
    }
  }
}

/**
 * Checks the state in DIR before a run continues it: sim.json, gateway.json and each meter's
 * keys.json must be what the simulator wrote (JSON, the right format), and every fleet option given
 * must equal the saved one. Otherwise a usage error naming the file, or every option that differs.
 * Returns the saved fleet's chip (undefined when DIR holds no fleet yet).
 */
function checkSavedFleet(dir: string, given: Partial<FleetSettings>, shard: Shard | undefined): string | undefined {
  const file = join(dir, 'sim.json');
  // (the bench's files have other names: a fleet made here would be added beside its meter)
  if (existsSync(join(dir, 'meter.json'))) throw usageError(`${dir} holds a bench meter (meter.json, xsmeter bench --state): a fleet needs its own --state DIR`);
  if (!existsSync(file)) {
    // The simulator writes sim.json before any meter: meters without it are not a fleet to continue,
    // and made anew over their flash they would meter their time again (and flag counter-resync).
    const meters = join(dir, 'meters');
    const held = [existsSync(meters) && statSync(meters).isDirectory() && readdirSync(meters).length > 0 ? 'meters/' : '', existsSync(join(dir, 'clocks.bin')) ? 'clocks.bin' : ''].filter(Boolean);
    if (held.length) throw usageError(`${file}: missing, but ${dir} holds a fleet's ${held.join(' and ')}: restore sim.json, or use a new --state DIR`);
    return undefined;
  }
  const saved = readJsonFile(file) as { format?: unknown; version?: unknown; config?: Partial<FleetSettings> & Record<string, unknown>; shard?: Shard; meters?: { meterId?: unknown }[] };
  if (typeof saved !== 'object' || saved === null || saved.format !== 'xsmeter-sim-state' || typeof saved.config !== 'object' || !Array.isArray(saved.meters)) {
    throw usageError(`${file}: not a simulator state (format "xsmeter-sim-state")`);
  }
  if (saved.version !== SIM_STATE_VERSION) {
    throw usageError(`${dir} holds meters of an earlier flash format (state version ${String(saved.version)}, this simulator reads ${SIM_STATE_VERSION}): start a new --state directory`);
  }
  checkSavedMeters(dir, saved as SavedShape);
  const c = saved.config;
  const differ: string[] = [];
  for (const k of Object.keys(given) as (keyof FleetSettings)[]) {
    const v = given[k];
    const was = k === 'radio' ? (c.radio ?? 'sink') : k === 'tariffs' ? tariffsText(c.tariffs as TariffSwitch[] | undefined) : c[k];
    if (v !== undefined && was !== undefined && v !== was) differ.push(`${FLEET_OPTION[k](v)} (saved: ${FLEET_OPTION[k](was)})`);
  }
  const was = saved.shard ?? { index: 0, count: 1 };
  if (shard && (shard.index !== was.index || shard.count !== was.count)) {
    differ.push(`--shard ${shard.index + 1}/${shard.count} (saved: ${was.index + 1}/${was.count}: each shard needs its own --state directory)`);
  }
  if (differ.length) {
    throw usageError(`${dir} holds a fleet made with other settings: ${differ.join(', ')}; continue it without these options, or use a new --state DIR`);
  }
  return typeof c.chip === 'string' ? c.chip : undefined;
}

interface SavedShape {
  wallMs?: unknown;
  config: { meters?: unknown; seed?: unknown };
  shard?: Shard;
  meters: { index?: unknown; seed?: unknown; meterId?: unknown; chip?: unknown }[];
}

const isTime = (v: unknown): v is number => typeof v === 'number' && v >= DEFAULT_WALL_START && v < STATE_TIME_END_MS;

/**
 * The rest of a saved fleet the simulator wrote and a hand (or a disk) may have changed: its time,
 * its meters (each the one the run's seed makes at its place, the shard's whole range), their key
 * files, DIR/clocks.bin (one time a meter) and gateway.json. A usage error naming the file.
 */
function checkSavedMeters(dir: string, saved: SavedShape): void {
  const file = join(dir, 'sim.json');
  if (!isTime(saved.wallMs)) throw usageError(`${file}: wallMs ${JSON.stringify(saved.wallMs)} is not a time from ${stamp(DEFAULT_WALL_START)} to 2300`);
  const { meters, seed } = saved.config;
  if (!(Number.isInteger(meters) && (meters as number) >= 1 && Number.isInteger(seed))) throw usageError(`${file}: config.meters and config.seed must be whole numbers`);
  const range = shardRange(meters as number, saved.shard ?? { index: 0, count: 1 });
  if (saved.meters.length !== range.count) throw usageError(`${file}: lists ${saved.meters.length} meters, the fleet's ${range.count}`);
  saved.meters.forEach((m, k) => {
    const i = range.first + k;
    if (m.index !== i || m.seed !== meterSeed(seed as number, i) || m.meterId !== meterIdOf(seed as number, i) || (m.chip !== 'ade7953' && m.chip !== 'atm90e32')) {
      throw usageError(`${file}: meter ${k} is not meter ${i} of the fleet seeded ${String(seed)} (id ${meterIdOf(seed as number, i)})`);
    }
    const keysFile = join(dir, 'meters', m.meterId, 'keys.json');
    if (!existsSync(keysFile)) return; // (made again from the seed: a kill during the set-up)
    if (!isSimKeysFile(readJsonFile(keysFile))) {
      throw usageError(`${keysFile}: not a simulator key file (meterKey, benchKey: 32 hex digits; signingKey: 64)`);
    }
  });
  const clocks = join(dir, 'clocks.bin');
  if (existsSync(clocks)) {
    const bytes = readInputFile(clocks);
    if (bytes.length !== 8 * saved.meters.length) throw usageError(`${clocks}: ${bytes.length} bytes, not 8 for each of its ${saved.meters.length} meters`);
    const times = new Float64Array(bytes.buffer, bytes.byteOffset, saved.meters.length);
    const bad = times.findIndex((t) => t !== 0 && !isTime(t));
    if (bad >= 0) throw usageError(`${clocks}: the time of meter ${bad} (${times[bad]}) is not one from ${stamp(DEFAULT_WALL_START)} to 2300`);
    // A meter with a time wrote its flash: its images must be there (else it would start blank and
    // send message counters it sent before).
    times.forEach((t, k) => {
      const id = saved.meters[k].meterId as string;
      for (const image of ['energy.bin', 'calibration.bin']) {
        const path = join(dir, 'meters', id, image);
        if (!existsSync(path)) {
          if (t !== 0) throw usageError(`${path}: missing, and meter ${id} has written its flash (clocks.bin)`);
          continue;
        }
        const size = statSync(path).size;
        const whole = FLASH_IMAGE.sectorSize * FLASH_IMAGE.sectorCount;
        if (size !== whole) throw usageError(`${path}: ${size} bytes, a meter's flash image has ${whole} (cut short, e.g. by a full disk)`);
      }
    });
  }
  const gateway = join(dir, 'gateway.json');
  if (existsSync(gateway)) {
    const g = readJsonFile(gateway) as { replay?: unknown; rows?: unknown } | null;
    if (!(g && typeof g.replay === 'object' && g.replay !== null && !Array.isArray(g.replay) && Array.isArray(g.rows))) throw usageError(`${gateway}: not the simulated gateway's state (replay, rows)`);
    // The receiver's replay state, as decode --state keeps it (a counter past its field refused every
    // frame of its meter; one that is no number was taken as none).
    replayEntries(g.replay, `${gateway}: replay`);
    const count = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
    (g.rows as unknown[]).forEach((r, k) => {
      const row = r as Record<string, unknown> | null;
      if (!(row && typeof row === 'object' && typeof row.meterId === 'string' && count(row.telegrams) && count(row.rejected) && typeof row.verdict === 'string')) {
        throw usageError(`${gateway}: row ${k} is not a gateway row (meterId, telegrams, rejected, verdict)`);
      }
    });
  }
}

/**
 * The size and shard of the fleet saved in DIR/sim.json, or undefined when there is none (or it is
 * not readable as one: checkSavedFleet then says why, in its place).
 */
function savedFleetSize(dir: string): { meters: number; shard?: Shard } | undefined {
  const file = join(dir, 'sim.json');
  try {
    if (!existsSync(file)) return undefined;
    const s = readJsonFile(file) as { config?: { meters?: unknown }; shard?: { index?: unknown; count?: unknown } } | null;
    const meters = s?.config?.meters;
    if (!(Number.isInteger(meters) && (meters as number) >= 1)) return undefined;
    const shard = s?.shard;
    const valid = shard !== undefined && Number.isInteger(shard.index) && Number.isInteger(shard.count) && (shard.count as number) >= 1;
    return { meters: meters as number, shard: valid ? { index: shard.index as number, count: shard.count as number } : undefined };
  } catch {
    return undefined;
  }
}

/** `06:00=1,22:00=2` → tariff switches (every tariff 1…max used at least once). */
export function parseTariffs(text: string): TariffSwitch[] {
  const switches = text.split(',').map((part) => {
    const m = /^(\d\d):(\d\d)=(\d)$/.exec(part.trim());
    if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || m[3] === '0') throw usageError(`--tariffs: "${part}" is not HH:MM=T (a switch time and a tariff 1…8, e.g. 06:00=1,22:00=2)`);
    return { at: `${m[1]}:${m[2]}`, tariff: Number(m[3]) };
  });
  const max = Math.max(...switches.map((s) => s.tariff));
  for (let t = 1; t <= max; t++) if (!switches.some((s) => s.tariff === t)) throw usageError(`--tariffs: tariff ${t} is never switched to`);
  if (new Set(switches.map((s) => s.at)).size !== switches.length) throw usageError('--tariffs: a switch time is given twice');
  return switches;
}

function tariffsText(t: TariffSwitch[] | undefined): string {
  return t ? t.map((s) => `${s.at}=${s.tariff}`).join(',') : '';
}

/** `12h,13h=0000` → PIN entries after the run's start; DIGITS default to `pin`. */
function parsePinAt(text: string, pin: string | undefined): { at: string; afterMs: number; digits: string }[] {
  return text.split(',').map((part) => {
    const [at, digits] = part.split('=');
    // A list may be spaced after its commas (12h, 13h=0000).
    const afterMs = at.trim() === '0' ? 0 : parseDuration(at.trim(), '--pin-at');
    const d = digits === undefined ? pin : digits.trim();
    if (d === undefined) throw usageError(`--pin-at ${part}: which digits? give --sml-pin PIN, or ${at}=DIGITS`);
    if (!/^\d{1,8}$/.test(d)) throw usageError(`--pin-at ${part}: "${d}" is not decimal digits`);
    return { at: at.trim(), afterMs, digits: d };
  });
}

/** The meter closes a PIN digit after this long without a flash (modules/sml/pin-entry.ts). */
const PIN_DIGIT_END_MS = 3000;

/**
 * --pin-at entries the customer can make: each one flashed within the run (one after its end never
 * happens) and one after the other (flashes of two entries at once make a third, wrong PIN, and three
 * wrong ones lock the entry for 5 min). A usage error naming the entry otherwise.
 */
function checkPinEntries(entries: { at: string; afterMs: number; digits: string }[], durationMs: number): void {
  const sorted = [...entries].sort((a, b) => a.afterMs - b.afterMs);
  let freeAt = 0;
  let before: { at: string; digits: string } | undefined;
  for (const e of sorted) {
    const end = e.afterMs + pinEntrySpanMs(e.digits);
    if (end >= durationMs) throw usageError(`--pin-at ${e.at}=${e.digits}: its last flash comes ${duration(end)} after the start, not within --duration ${duration(durationMs)}`);
    if (before && e.afterMs < freeAt) {
      throw usageError(`--pin-at ${before.at}=${before.digits} and ${e.at}=${e.digits} overlap: the first one's flashes, and the 3 s that end its last digit, last until ${duration(freeAt)} after the start`);
    }
    freeAt = end + PIN_DIGIT_END_MS;
    before = e;
  }
}

export const sim: Command = {
  name: 'sim',
  summary: 'run simulated meters and a simulated gateway (live table, or one line per telegram)',
  help,
  async run(args: string[], io: CliIo): Promise<number> {
    const parsed = parseOptions(
      args,
      {
        meters: { type: 'string' },
        chip: { type: 'string' },
        duration: { type: 'string' },
        speed: { type: 'string' },
        interval: { type: 'string' },
        sample: { type: 'string' },
        mode: { type: 'string' },
        insecure: { type: 'boolean' },
        radio: { type: 'string' },
        cc1101: { type: 'boolean' },
        load: { type: 'string' },
        seed: { type: 'string' },
        state: { type: 'string' },
        format: { type: 'string' },
        'duty-cycle': { type: 'string' },
        listen: { type: 'string' },
        rig: { type: 'string' },
        serial: { type: 'string' },
        baud: { type: 'string' },
        'clock-offset': { type: 'string' },
        tariffs: { type: 'string' },
        sml: { type: 'string' },
        'sml-pin': { type: 'string' },
        'pin-at': { type: 'string' },
        workers: { type: 'string' },
        shard: { type: 'string' },
        progress: { type: 'string' },
      },
    );
    const o = parsed.values;
    // A run that continues a saved fleet without --meters has the saved fleet's size (and shard):
    // the defaults that follow the size (--sample, --workers, the lean heap) and --shard's bound are
    // those of that fleet, not of the default 3 meters.
    const saved = o.state === undefined ? undefined : savedFleetSize(o.state);
    const meters = o.meters === undefined ? (saved?.meters ?? 3) : decimalInteger(o.meters);
    if (!Number.isInteger(meters) || meters < 1 || meters > 90_000_000) throw new CliError(`--meters must be 1…90000000 (8-digit meter ids), got "${o.meters}"`, 2);
    let shard: Shard | undefined;
    if (o.shard !== undefined) {
      const m = /^(\d+)\/(\d+)$/.exec(o.shard);
      const i = m ? Number(m[1]) : NaN;
      const n = m ? Number(m[2]) : NaN;
      if (!(i >= 1 && i <= n && n <= meters)) throw new CliError(`--shard must be I/N with 1 ≤ I ≤ N ≤ --meters, got "${o.shard}"`, 2);
      shard = { index: i - 1, count: n };
    }
    const ownShard = shard ?? saved?.shard;
    const share = ownShard ? Math.ceil(meters / ownShard.count) : meters;
    if (share > 1_000_000) throw new CliError(`${share} meters in one process: at most 1000000 (split the fleet with --shard I/N)`, 2);
    // A city's meters are most of the process's memory: V8 then collects when a heap has grown a
    // fifth past what its last full collection kept, not up to about twice (process-wide, so the
    // workers too; 100 000 meters × 1 h, two workers: 2.07–2.13 → 1.92–2.01 GB resident), and the
    // workers' young generations stay small (SimRunOptions.lean).
    const lean = share >= LEAN_HEAP_METERS;
    if (lean) setFlagsFromString('--heap-growing-percent=20');
    let workers: number | undefined;
    if (o.workers !== undefined) {
      workers = decimalInteger(o.workers);
      if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw new CliError(`--workers must be 1…256, got "${o.workers}"`, 2);
      // Meter 0's ports live in this thread, and the runner then runs every meter here (SimRunner).
      const here = ['listen', 'serial', 'sml'].find((k) => o[k as 'listen' | 'serial' | 'sml'] !== undefined);
      if (workers > 1 && here && o.rig === undefined) throw usageError(`--workers ${o.workers} with --${here}: meter 0's ${here === 'sml' ? 'optical port' : 'service port'} runs in this thread, and all meters with it; drop --workers`);
    }
    const progressEveryMs = o.progress === undefined ? 10_000 : o.progress === '0' || o.progress === 'none' ? 0 : parseDuration(o.progress, '--progress');
    const chip = o.chip ?? 'ade7953';
    if (chip !== 'ade7953' && chip !== 'atm90e32' && chip !== 'mixed') throw new CliError(`--chip must be ade7953, atm90e32 or mixed, got "${chip}"`, 2);
    const durationMs = parseDuration(o.duration ?? '1d', '--duration');
    if (durationMs > MAX_DURATION_MS) throw usageError(`--duration ${o.duration} is more than 100 years (36525d)`);
    let speed: Speed = 'max';
    if (o.speed !== undefined && o.speed !== 'max') {
      if (o.speed === 'realtime') speed = 'realtime';
      else {
        const f = /^\d+(\.\d+)?$/.test(o.speed) ? Number(o.speed) : NaN;
        if (!(f > 0) || !Number.isFinite(f)) throw new CliError(`--speed must be max, realtime or a positive factor, got "${o.speed}"`, 2);
        speed = f;
      }
    }
    const intervalMs = parseDuration(o.interval ?? '15m', '--interval');
    if (intervalMs < 1000) throw new CliError('--interval must be at least 1s', 2);
    const samplePeriodMs = o.sample !== undefined ? parseDuration(o.sample, '--sample') : meters <= 10 ? 1000 : 60_000;
    if (samplePeriodMs < 100) throw new CliError('--sample must be at least 100ms', 2);
    if (o.insecure && o.mode !== undefined) throw new CliError('--insecure is security mode 0; drop --mode', 2);
    const security = o.insecure ? 0 : o.mode === undefined || o.mode === '7' ? 7 : o.mode === '5' ? 5 : -1;
    if (security < 0) throw new CliError(`--mode must be 5 or 7 (or --insecure), got "${o.mode}"`, 2);
    const radioMode = o.radio ?? 'T1';
    if (radioMode !== 'T1' && radioMode !== 'C1') throw new CliError(`--radio must be T1 or C1, got "${radioMode}"`, 2);
    const load = o.load ?? 'mixed';
    if (load !== 'mixed' && !isLoadProfile(load)) throw new CliError(`--load must be mixed or one of ${LOAD_PROFILES.join(', ')}, got "${load}"`, 2);
    const seed = o.seed === undefined ? 1 : decimalInteger(o.seed);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new CliError(`--seed must be an integer 0…4294967295, got "${o.seed}"`, 2);
    if (o.state === '') throw usageError('--state needs a directory');
    const format = o.format ?? 'table';
    if (!['table', 'json', 'hex', 'rtlwmbus'].includes(format)) throw new CliError(`--format must be table, json, hex or rtlwmbus, got "${format}"`, 2);
    let dutyCycle: number | undefined;
    if (o['duty-cycle'] !== undefined) {
      dutyCycle = decimalNumber(o['duty-cycle']);
      if (!(dutyCycle > 0 && dutyCycle <= 1)) throw new CliError(`--duty-cycle must be a fraction in (0, 1], got "${o['duty-cycle']}"`, 2);
      // A budget below one telegram could never send one: the meters' radio budget refused the first
      // telegram of the run (exit 1, after the set-up). The bound is the longest frame there is.
      const hourMs = dutyCycle * 3_600_000;
      const longestMs = airtimeMs(frameLengthFromL(255, 'A'), radioMode, 'A');
      if (hourMs < longestMs) throw usageError(`--duty-cycle ${o['duty-cycle']} leaves ${Number(hourMs.toPrecision(3))} ms of airtime an hour: less than one telegram (the longest ${radioMode} frame takes ${longestMs.toFixed(1)} ms)`);
    }

    const tariffs = o.tariffs === undefined ? undefined : parseTariffs(o.tariffs);
    if (o['sml-pin'] !== undefined && !/^\d{4}$/.test(o['sml-pin'])) throw usageError(`--sml-pin must be four decimal digits, got "${o['sml-pin']}"`);
    if (o.sml === undefined && (o['sml-pin'] !== undefined || o['pin-at'] !== undefined)) {
      throw usageError(`--${o['sml-pin'] !== undefined ? 'sml-pin' : 'pin-at'} is for meter 0's optical interface: give --sml FILE (or - for stdout)`);
    }
    const smlStdout = o.sml === '-';
    if (smlStdout && format !== 'table') throw usageError(`--sml - and --format ${format} would both write to stdout: give --sml a FILE`);
    const pinAt = o['pin-at'] === undefined ? [] : parsePinAt(o['pin-at'], o['sml-pin']);
    checkPinEntries(pinAt, durationMs);

    if (o.rig !== undefined) return runRig(o, chip, seed, io);
    if (o['clock-offset'] !== undefined) throw usageError('--clock-offset is only for --rig (the bench meter\'s clock against the bench\'s)');
    // One run at a time on a state directory (two would send the same message counters).
    const lock = o.state === undefined ? undefined : lockDirectory(o.state);
    if (lock && 'heldBy' in lock) throw usageError(`${o.state} is in use by process ${lock.heldBy} (another xsmeter sim): wait for it, or stop it`);
    try {
      let savedChip: string | undefined;
      if (o.state !== undefined) {
        // A saved fleet keeps what made its meters; an option that says otherwise is refused, not ignored.
        const given: Partial<FleetSettings> = {
          meters: o.meters === undefined ? undefined : meters,
          chip: o.chip === undefined ? undefined : chip,
          seed: o.seed === undefined ? undefined : seed,
          load: o.load === undefined ? undefined : load,
          security: o.mode === undefined && !o.insecure ? undefined : (security as 0 | 5 | 7),
          radioMode: o.radio === undefined ? undefined : radioMode,
          radio: o.cc1101 ? 'cc1101' : undefined,
          tariffs: o.tariffs === undefined ? undefined : tariffsText(tariffs),
        };
        savedChip = checkSavedFleet(o.state, given, shard);
      }
      checkSamplePeriod(samplePeriodMs, savedChip ?? chip, o.sample ?? duration(samplePeriodMs));
      let smlOut: SmlStreamOutput | undefined;
      if (o.sml !== undefined) {
        // Paced runs write each file through (a reader follows live); at max speed in 64 KB pieces.
        const through = speed === 'max' ? undefined : 0;
        if (smlStdout) {
          if (!io.stdoutBytes) throw usageError('--sml -: this stdout takes text only');
          smlOut = new SmlStreamOutput(io.stdoutBytes, through);
        } else {
          checkWritableFile(o.sml, '--sml');
          smlOut = SmlStreamOutput.toFile(o.sml, through);
        }
      }
      let listener: Awaited<ReturnType<typeof servicePort>> | undefined;
      if (o.listen !== undefined || o.serial !== undefined || o.baud !== undefined) {
        listener = await servicePort(o);
        io.stderr(`xsmeter sim: meter 0 serves its service interface on ${listener.url ?? listener.path}\n`);
      }
      const table = format === 'table';
      // With the SML stream on stdout, the table and summary go to stderr.
      const textOut = smlStdout ? io.stderr : io.stdout;
      const live = table && !smlStdout && (process.stdout as { isTTY?: boolean }).isTTY === true;
      const report = table ? textOut : io.stderr;
      const display = new ProgressDisplay({
        stdout: { write: textOut, isTTY: live, columns: process.stdout.columns, rows: process.stdout.rows },
        stderr: { write: io.stderr, isTTY: (process.stderr as { isTTY?: boolean }).isTTY === true, columns: process.stderr.columns },
        liveTable: live,
        title: (r) => `${group(r.specs.length)} meter${r.specs.length === 1 ? '' : 's'}, telegram every ${duration(intervalMs)}, mode ${security} ${radioMode}${r.workers > 1 ? `, ${r.workers} threads` : ''}`,
        everyMs: progressEveryMs,
      });
      // Telegram lines go out a group at a time (one write per epoch, not per line).
      let lines = '';
      const hexLines = format === 'hex' && io.stdoutBytes ? new HexLines(io.stdoutBytes) : undefined;
      const writeLines = () => {
        if (lines) io.stdout(lines);
        lines = '';
        hexLines?.flush();
      };
      const runner = new SimRunner({
        meters,
        chip,
        seed,
        load,
        security: security as 0 | 5 | 7,
        radioMode,
        intervalMs,
        samplePeriodMs,
        dutyCycle,
        radio: o.cc1101 ? 'cc1101' : 'sink',
        tariffs,
        sml: smlOut ? { optical: smlOut, pin: o['sml-pin'], flashes: pinAt } : undefined,
        durationMs,
        speed,
        stateDir: o.state,
        service: listener,
        workers: workers ?? (share >= 200 ? availableParallelism() : 1),
        lean,
        shard,
        onProgress: (r) => display.update(r),
        onTelegram: table
          ? undefined
          : (e) => {
              if (hexLines) {
                hexLines.add(e.air.frame);
                return;
              }
              if (format === 'json') lines += jsonLine(e) + '\n';
              else if (format === 'hex') lines += hexOf(e.air.frame) + '\n';
              else lines += rtlwmbusLine(e) + '\n';
              if (lines.length >= LINES_FLUSH) writeLines();
            },
        onDelivered: writeLines,
      });
      if (table && !live) {
        textOut(`simulating ${runner.specs.length} meter${runner.specs.length === 1 ? '' : 's'}${runner.shard.count > 1 ? ` (shard ${runner.shard.index + 1}/${runner.shard.count} of ${runner.config.meters})` : ''} for ${duration(durationMs)} from ${stamp(runner.startWallMs)} UTC: telegram every ${duration(intervalMs)}, mode ${security} ${radioMode}, sample every ${duration(samplePeriodMs)}, ${speed === 'max' ? 'max speed' : speed === 'realtime' ? 'real time' : `${speed} × real time`}\n\n`);
      }
      // SIGINT/SIGTERM, or stdout closed (| head): stop at the next event, save, and end with exit 0.
      const stop = stopSignal(io);
      const onStop = () => runner.requestStop();
      if (stop.aborted) onStop();
      stop.addEventListener('abort', onStop, { once: true });
      let summary: SimSummary;
      try {
        summary = await runner.run();
      } finally {
        writeLines();
        stop.removeEventListener('abort', onStop);
        await listener?.close();
        smlOut?.close();
      }
      // Nobody reads stdout any more: end quietly (the state is saved).
      if (stop.reason === 'EPIPE') return 0;
      display.finish(runner);
      if (table && !live) textOut(formatTable(runner).join('\n') + '\n');
      report((table ? '\n' : '') + formatSummary(summary).join('\n') + '\n');
      return checksFailed(summary) ? 1 : 0;
    } finally {
      lock?.release();
    }
  },
};
