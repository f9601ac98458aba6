import type { Reporter, TestModule } from 'vitest/node';
import { formatFaultTable, type FaultRow } from './table.js';

/**
 * Prints the fault suite's table (see table.ts) when a run that included fault scenarios ends.
 * A run without them prints nothing. Listed in vitest.config.ts beside the default reporter.
 */
export default class FaultTableReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    const rows: FaultRow[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) rows.push(...(test.meta().faultRows ?? []));
    }
    if (rows.length === 0) return;
    process.stdout.write(`\nFault suite (replay a run's random choices with BERTH_FAULT_SEED=<seed>):\n${formatFaultTable(rows)}\n\n`);
  }
}
