// `npm run test:fault`: every fault scenario of scenarios.ts, in both delivery modes, each recorded in
// test/fault/results/latest.json (docs/reliability.md). Named *.fault.ts so `npm test` leaves
// them out; it runs the scenarios marked inTestSuite (test/integration/faults.test.ts).
import { test } from 'node:test';
import { scenarios } from './scenarios.ts';

for (const scenario of scenarios) {
  test(scenario.title, { timeout: 600_000 }, (t) => scenario.run(t, { record: true }).then(() => {}));
}
// The same faults with exactly-once delivery: no duplicates at all (results named `<name>-eos`).
for (const scenario of scenarios) {
  test(`${scenario.title} (exactly-once)`, { timeout: 600_000 }, (t) =>
    scenario.run(t, { record: true, delivery: 'exactly-once' }).then(() => {}),
  );
}
