/** `xsmeter encode`: builds one OMS telegram from register values and prints it (hex, rtlwmbus or PHY). */
import { fromHex, toHex } from '../../modules/core/bytes.js';
import { MeterError } from '../../modules/core/errors.js';
import type { Register } from '../../modules/wmbus-tx/registers.js';
import { decimalPlaces, describeRegister, scaleDecimal } from '../../modules/wmbus-tx/registers.js';
import { scaledDecimal } from '../../modules/sml/scaled.js';
import { buildTelegram, type TelegramSecurity } from '../../modules/wmbus-tx/telegram.js';
import { phyEncode } from '../../modules/wmbus/phy.js';
import { parseFrame } from '../../modules/wmbus/frame-parse.js';
import { decimalNumber, parseOptions, usageError, type CliIo, type Command } from '../command.js';
import { nobleCrypto } from '../../hosts/sim/noble-crypto.js';

const help = `usage: xsmeter encode --id 12345678 --key HEX --mode 7 --counter N --set OBIS=VALUE [--set …] [options]

Builds one OMS wireless M-Bus telegram (EN 13757-3 records, EN 13757-7 TPL, OMS security mode 5 or
7, EN 13757-4 frame with CRCs) and prints it on one line.

  --id DIGITS          meter identification number, 8 digits (A field)
  --mfct ABC           manufacturer code (default XSM)
  --version N          A-field version (default 1)
  --type N             device type (default 2, electricity)
  --key HEX            meter master key, 16 bytes (32 hex digits); not with --insecure
  --mode 5|7           security mode (default 7: profile B, AFL with CMAC)
  --insecure           security mode 0 (plain): simulation and tests only
  --counter N          AFL message counter (mode 7 only; must increase with every telegram)
  --access N           TPL access number 0..255 (default: counter mod 256 in mode 7, else 0)
  --status N           TPL status byte (default 0)
  --tpl short|long     TPL header CI 0x7A (default) or 0x72 (repeats the meter address)
  --frame A|B          frame format (default A)
  --set OBIS=VALUE     a register: 1.8.0 1.8.1 … 2.8.0 2.8.1 … (Wh), 16.7.0 2.7.0 (W),
                       32.7.0 52.7.0 72.7.0 (V), 31.7.0 51.7.0 71.7.0 (A),
                       clock=YYYY-MM-DDTHH:MM (0-0:1.0.0), status=N (0-0:97.97.0 error flags)
  --format hex|rtlwmbus|phy
                       hex: the frame with its CRCs (default);
                       rtlwmbus: MODE;1;1;timestamp;rssi;lqi;id;0x<frame without CRCs>;
                       phy: the on-air chip stream (preamble, sync word, coded frame)
  --radio T1|C1        radio mode for rtlwmbus and phy (default T1 for format A, C1 for B)

Example:
  xsmeter encode --id 12345678 --key 000102030405060708090a0b0c0d0e0f --counter 1 --set 1.8.0=123456
`;

function int(name: string, text: string | undefined, min: number, max: number, dflt?: number): number {
  if (text === undefined) {
    if (dflt === undefined) throw usageError(`--${name} is required`);
    return dflt;
  }
  const v = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(v) || v < min || v > max) throw usageError(`--${name} must be an integer from ${min} to ${max}, got "${text}"`);
  return v;
}

function oneOf<T extends string>(name: string, text: string | undefined, allowed: readonly T[], dflt: T): T {
  if (text === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(text)) throw usageError(`--${name} must be one of ${allowed.join(', ')}, got "${text}"`);
  return text as T;
}

export function parseKey(text: string, what = '--key'): Uint8Array {
  if (!/^[0-9a-fA-F]{32}$/.test(text)) throw usageError(`${what} must be 32 hex digits (AES-128), got "${text}"`);
  return fromHex(text);
}

/** A --set option as a register, and a note when its value has more decimals than the record carries. */
function parseRegister(text: string): { register: Register; note?: string } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw usageError(`--set needs OBIS=VALUE, got "${text}"`);
  const obis = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  let def;
  try {
    def = describeRegister(obis);
  } catch (e) {
    if (e instanceof MeterError) throw usageError(`--set ${obis}: ${e.code}: ${e.message}`);
    throw e;
  }
  if (def.obis === '0-0:1.0.0') return { register: { obis, value: raw } };
  if (Number.isNaN(decimalNumber(raw))) throw usageError(`--set ${obis}: "${raw}" is not a decimal number`);
  if (def.decimals === 0) return { register: { obis, value: Number(raw) } };
  // Scaled registers take the numeral itself: the encoder scales its decimal digits exactly.
  const register = { obis, value: raw };
  const steps = scaleDecimal(raw, def.decimals);
  // Out of range: the encoder refuses it, with its reason.
  if (decimalPlaces(raw) <= def.decimals || !Number.isFinite(steps)) return { register };
  const sent = scaledDecimal(BigInt(steps), -def.decimals);
  return { register, note: `--set ${text} is sent as ${sent} ${def.unit}: the record carries ${def.decimals === 1 ? '0.1 V' : '1 mA'} steps (rounded half away from zero)` };
}

export const encode: Command = {
  name: 'encode',
  summary: 'build an OMS telegram from register values (hex, rtlwmbus or PHY stream)',
  help,
  async run(args: string[], io: CliIo): Promise<number> {
    const parsed = parseOptions(
      args,
      {
        id: { type: 'string' },
        mfct: { type: 'string' },
        version: { type: 'string' },
        type: { type: 'string' },
        key: { type: 'string' },
        mode: { type: 'string' },
        insecure: { type: 'boolean' },
        counter: { type: 'string' },
        access: { type: 'string' },
        status: { type: 'string' },
        tpl: { type: 'string' },
        frame: { type: 'string' },
        set: { type: 'string', multiple: true },
        format: { type: 'string' },
        radio: { type: 'string' },
      },
    );
    const o = parsed.values;
    if (!o.id || !/^\d{8}$/.test(o.id)) throw usageError(`--id must be 8 decimal digits, got "${o.id ?? ''}"`);
    const format = oneOf('frame', o.frame, ['A', 'B'] as const, 'A');
    const radio = oneOf('radio', o.radio, ['T1', 'C1'] as const, format === 'A' ? 'T1' : 'C1');
    if (radio === 'T1' && format === 'B') throw usageError('T1 carries format A only (EN 13757-4); use --radio C1 with --frame B');
    let security: TelegramSecurity;
    if (o.insecure) {
      if (o.key !== undefined) throw usageError('--insecure sends plain telegrams: give no --key');
      if (o.mode !== undefined && o.mode !== '0') throw usageError('--insecure is security mode 0; drop --mode');
      security = { mode: 0 };
    } else {
      if (o.mode === '0') throw usageError('security mode 0 needs --insecure');
      const mode = Number(oneOf('mode', o.mode, ['5', '7'] as const, '7')) as 5 | 7;
      if (o.key === undefined) throw usageError(`--key is required for security mode ${mode} (or --insecure)`);
      security = { mode, key: nobleCrypto.aesKey(parseKey(o.key)), crypto: nobleCrypto };
    }
    // Mode 5 and mode 0 telegrams have no AFL, so no place for a message counter (EN 13757-7: a mode-5
    // TPL carries access number, status and configuration; its IV is M, A and the access number).
    if (security.mode !== 7 && o.counter !== undefined) {
      throw usageError(`--counter is the AFL message counter of security mode 7; a ${security.mode === 5 ? 'mode-5' : 'plain (--insecure)'} telegram has no AFL: drop it (--access N sets the TPL access number)`);
    }
    const counter = o.counter === undefined ? undefined : int('counter', o.counter, 1, 0xffffffff);
    if (security.mode === 7 && counter === undefined) throw usageError('--counter is required for security mode 7');
    const accessNumber = int('access', o.access, 0, 255, (counter ?? 0) & 0xff);
    const parsedSets = (o.set ?? []).map(parseRegister);
    const registers = parsedSets.map((p) => p.register);
    if (registers.length === 0) throw usageError('give at least one --set OBIS=VALUE');
    const header = {
      control: 0x44,
      manufacturer: o.mfct ?? 'XSM',
      id: o.id,
      version: int('version', o.version, 0, 255, 1),
      deviceType: int('type', o.type, 0, 255, 2),
    };
    const request = {
      header,
      registers,
      security,
      counters: counter === undefined ? { accessNumber } : { accessNumber, messageCounter: counter },
      tpl: oneOf('tpl', o.tpl, ['short', 'long'] as const, 'short'),
      format,
      status: int('status', o.status, 0, 255, 0),
    };
    let frame: Uint8Array;
    try {
      frame = buildTelegram(request);
    } catch (e) {
      // Everything encode builds comes from its options: a value the encoder refuses is bad usage.
      if (e instanceof MeterError) throw usageError(`${e.code}: ${e.message}`);
      throw e;
    }
    const out = oneOf('format', o.format, ['hex', 'rtlwmbus', 'phy'] as const, 'hex');
    if (out === 'hex' && o.radio !== undefined) throw usageError('--radio is for --format rtlwmbus and phy; a hex frame carries no radio mode: drop --radio');
    if (out === 'hex') io.stdout(toHex(frame) + '\n');
    else if (out === 'phy') io.stdout(toHex(phyEncode(frame, radio, format)) + '\n');
    else {
      // rtl-wmbus prints the frame without CRCs in the format-A layout (L = length - 1).
      const p = parseFrame(frame, format);
      const raw = new Uint8Array(p.dll.length + p.body.length);
      raw.set(p.dll);
      raw.set(p.body, p.dll.length);
      raw[0] = raw.length - 1;
      const ts = new Date().toISOString().replace('T', ' ').replace('Z', '');
      io.stdout(`${radio};1;1;${ts};0;0;${header.id};0x${toHex(raw).toUpperCase()}\n`);
    }
    for (const p of parsedSets) if (p.note) io.stderr(`xsmeter encode: ${p.note}\n`);
    return 0;
  },
};
