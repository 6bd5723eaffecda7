// The one place that says how our tests and benchmarks start Chromium: Debian's binary (never a
// downloaded browser) and the flags it needs as root on a machine without network.
export const CHROMIUM_PATH = process.env.NEURONOS_CHROMIUM || process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
