import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: run test files one or two at a time so model-heavy tests do not starve each other.
    pool: 'forks',
    maxWorkers: 2,
  },
});
