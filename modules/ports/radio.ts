/** The wireless M-Bus modes the meter transmits in (EN 13757-4). */
export type WmbusMode = 'T1' | 'C1';

/** A sub-GHz transmitter. */
export interface Radio {
  /**
   * Sends one link-layer frame: the DLL frame with its CRC blocks (format A or B, as built by
   * modules/wmbus-tx). The radio applies its mode's PHY coding (preamble, sync word, 3-of-6 for T1)
   * with the encoders of modules/wmbus/phy-*.
   */
  transmit(frame: Uint8Array, mode: WmbusMode): void;
}
