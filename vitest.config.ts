import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          // test/security: one test per attack on the evidence, the collectors and the API; it needs
          // the same real services, so it runs in this project.
          include: ['test/integration/**/*.int.test.ts', 'test/security/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // One retry: a few timing-dependent tests (a response still in flight on a loaded 2-core
          // machine) fail rarely; each such flake is a bug to find (README, Tests), not to hide, but
          // one should not cost a whole run. A test that fails twice fails the run.
          retry: 1,
          // Two cores: integration files drive Chromium, Redis and MinIO; run them one file at a time.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
