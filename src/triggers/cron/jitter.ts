/**
 * Deterministic jitter: a delay after the nominal time, from a hash of (trigger key, nominal time), so every
 * replica and every restart picks the same effective instant. The nominal time stays the fire's identity.
 */
export function jitterMs(triggerKey: string, nominalMs: number, jitterSeconds: number): number {
  if (jitterSeconds <= 0) return 0;
  // FNV-1a, 32 bit.
  let h = 0x811c9dc5;
  const s = `${triggerKey}|${nominalMs}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % (jitterSeconds * 1000);
}
