// The part of the fault suite that runs in `npm test` (the whole suite: `npm run test:fault`):
// scenarios that are short and cover faults the other integration tests do not. Results are not
// recorded here; docs/reliability.md reports full runs.
import { test } from 'node:test';
import { scenarios } from '../fault/scenarios.ts';

for (const scenario of scenarios.filter((s) => s.inTestSuite === true)) {
  test(`fault: ${scenario.title}`, { timeout: 600_000 }, (t) =>
    scenario.run(t, { record: false }).then(() => {}),
  );
}
