/**
 * Moddable SDK runtime modules the ESP32 host imports: `flash` (modules/files/flash, one ESP-IDF data
 * partition by name), `preference` (modules/files/preference, NVS key-value store), `timer` and
 * `time` (modules/base). Declared from the SDK's flash.js / typings (Moddable SDK 5.x).
 */

declare module 'flash' {
  /** A flash partition opened by label ('xs', 'running', 'nextota' or a data partition's name). */
  export default class Flash {
    constructor(partition: string);
    /** Erases sector `sector` (blockSize bytes) of the partition to 0xFF. */
    erase(sector: number): void;
    read(offset: number, byteLength: number): ArrayBuffer;
    /** Programs `byteLength` bytes of `buffer` at `offset` (NOR: can only clear bits). */
    write(offset: number, byteLength: number, buffer: ArrayBuffer): void;
    /** Partition size in bytes. */
    readonly byteLength: number;
    /** Erase sector size: SPI_FLASH_SEC_SIZE, 4096 on ESP32. */
    readonly blockSize: number;
  }
}

declare module 'preference' {
  export type PreferenceValue = string | boolean | number | ArrayBuffer;
  const Preference: {
    set(domain: string, key: string, value: PreferenceValue): void;
    get(domain: string, key: string): PreferenceValue | undefined;
    delete(domain: string, key: string): void;
    keys(domain: string): string[];
  };
  export default Preference;
}

declare module 'timer' {
  export type TimerID = object;
  const Timer: {
    set(callback: (id: TimerID) => void, interval?: number, repeat?: number): TimerID;
    repeat(callback: (id: TimerID) => void, interval: number): TimerID;
    schedule(id: TimerID, interval?: number, repeat?: number): void;
    clear(id: TimerID): void;
    /** Blocks for `ms` milliseconds. */
    delay(ms: number): void;
  };
  export default Timer;
}

declare module 'time' {
  const Time: {
    /** Monotonic milliseconds since boot. */
    readonly ticks: number;
    /** Sets the wall clock (seconds since 1970). */
    set(seconds: number): void;
  };
  export default Time;
}

declare module 'file' {
  /** A file of the host's file system (Moddable's desktop simulator: the process's own files). */
  export class File {
    /** Opens `path`; with `write`, for reading and writing, created when missing. */
    constructor(path: string, write?: boolean);
    /** Reads `count` bytes at `position` into a new ArrayBuffer. */
    read(type: typeof ArrayBuffer, count: number): ArrayBuffer;
    /** Writes at `position`. */
    write(data: ArrayBuffer): void;
    close(): void;
    readonly length: number;
    position: number;
  }
}

declare module 'mc/config' {
  /** The build's configuration: the manifest's "config" and mcconfig's NAME=VALUE arguments (strings). */
  const config: Readonly<Record<string, unknown>>;
  export default config;
}

declare module 'debug' {
  const Debug: {
    /** Without an argument: collects garbage now. With one: enables or disables collection. */
    gc(enable?: boolean): void;
  };
  export default Debug;
}

declare module 'instrumentation' {
  const Instrumentation: {
    /** The index of an instrument by name ("XS Chunk Heap Used", "XS Slot Heap Used"...). */
    map(name: string): number;
    get(index: number): number;
  };
  export default Instrumentation;
}
