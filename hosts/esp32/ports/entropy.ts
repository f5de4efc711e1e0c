/**
 * Random bytes from the chip: the ESP32's hardware RNG (ESP-IDF esp_fill_random) on the board, the
 * operating system's (getrandom, arc4random_buf) in Moddable's desktop simulator; entropy.c is the
 * native half. Fills the caller's buffer in place.
 */

/** XS: binds a host function of the build by name (Moddable's `native`, resolved by xsc). */
declare function native(name: string): (this: unknown, ...args: unknown[]) => unknown;

/** Fills `output` with random bytes. (`this` and the parameter passed through as they are let xsc
 *  bind the function to the host function directly.) */
export function fillRandom(this: void, output: Uint8Array): void {
  native('xs_xsmeter_fill_random').call(this, output);
}
