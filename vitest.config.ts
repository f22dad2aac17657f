import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Test files start their own PGlite instances and child processes; two cores run two files at once.
    maxWorkers: 2,
    pool: 'forks',
  },
});
