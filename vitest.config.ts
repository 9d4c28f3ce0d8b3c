import { defineConfig } from 'vitest/config';
import PcscdSpreadSequencer from './test/sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: peers and a busy two-core CI machine make start-up slow; hangs are caught by these.
    testTimeout: 180_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Two cores here: peers (pcscd, slapd, cupsd, Chromium) are shared, so files run a few at a time.
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
    // New password hashes cost less in test processes (never in the product): test/setup/password-cost.ts.
    setupFiles: ['test/setup/password-cost.ts'],
    // Files holding the one pcscd spread out, so no worker sits waiting for its lock (test/sequencer.ts).
    sequence: { sequencer: PcscdSpreadSequencer },
    reporters: ['default'],
  },
});
