import { defineConfig } from 'vitest/config';

// All of test/**/*.test.ts, in two projects so that `vitest run test/unit` needs
// no etcd, Docker or root: a project's globalSetup runs only when that project
// has files in the run. (No root `include`: projects that extend the root
// would concatenate it with their own.)
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 120_000,
    // The fault suite's table (test/faults) after the usual report; it prints nothing in a run without it.
    reporters: ['default', './test/faults/support/table-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/unit/**'],
          globalSetup: ['test/support/global-setup.ts'],
          // The machine has 2 cores, shared by etcd, dockerd and the containers under test.
          // NOTE: vitest needs a distinct groupOrder for projects whose maxWorkers differ;
          // unit files run first (default workers), then these.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
