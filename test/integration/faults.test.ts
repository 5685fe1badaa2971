// The part of the fault suite that runs in `npm test` (the whole suite: `npm run test:fault`):
// scenarios that are short and cover faults the other integration tests do not. Results are not
// recorded here; docs/reliability.md reports full runs.
import { test } from 'node:test';
import { scenarios } from '../fault/scenarios.ts';

for (const scenario of scenarios.filter((s) => s.inTestSuite !== undefined && s.inTestSuite !== false)) {
  test(`fault: ${scenario.title}`, { timeout: 600_000 }, (t) =>
    scenario.run(t, { record: false }).then(() => {}),
  );
}
// The exactly-once writer has its own handling of these faults (the rest of exactly-once:
// test/integration/exactly-once.test.ts; every scenario: npm run test:fault).
for (const scenario of scenarios.filter((s) => s.inTestSuite === 'both')) {
  test(`fault: ${scenario.title} (exactly-once)`, { timeout: 600_000 }, (t) =>
    scenario.run(t, { record: false, delivery: 'exactly-once' }).then(() => {}),
  );
}
