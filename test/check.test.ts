/**
 * `rnnc check` (src/check.ts) at its defaults, called in-process: every stock cell at its own
 * sizes, batch 2, seq 4, passes for seeds 1-10, with and without truncation; and the verdict is
 * decided by a named value, with the tolerance that decided it. The CLI's own output is tested
 * once per verdict in cli.test.ts; what a wrong gradient does is in check-broken.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOLERANCE, excess } from '../ir/gradcheck.ts';
import { checkCell, formatReport } from '../src/check.ts';
import { traceCell } from '../src/dsl/trace.ts';
import { parseTruncation } from '../src/layout.ts';
import { cellNames, cells } from './helpers.ts';

const SEEDS = Array.from({ length: 10 }, (_, i) => i + 1);
const SEQ = 4;

describe.each(cellNames.map((n) => [n]))('rnnc check %s at its defaults', (name) => {
  const c = traceCell(cells[name]!, { batch: 2 });
  it.each([undefined, '2'])('passes for seeds 1-10 (truncate %s)', async (truncate) => {
    for (const seed of SEEDS) {
      const r = await checkCell(c, SEQ, parseTruncation(truncate, SEQ), { seed });
      const lines = formatReport(r);
      const report = lines.join('\n');
      expect(r.ok, `seed ${seed}\n${report}`).toBe(true);
      for (const s of [r.finiteDifferences, r.generatedCode, r.unrolled]) expect(s.failures, `${s.title}, seed ${seed}`).toBe(0);
      expect(r.finiteDifferences.count + r.finiteDifferences.kinks.length).toBe(8 * c.params.length);
      // a stencil that crosses a kink at every step tried is rare at random weights: when it happens it must be few
      expect(r.finiteDifferences.kinks.length, report).toBeLessThanOrEqual(2);
      expect(r.finiteDifferences.probed).toBe(name === 'irnn');
      // margin: the worst value of the finite differences is well inside the tolerance
      expect(excess(r.finiteDifferences.worst!, DEFAULT_TOLERANCE), report).toBeLessThan(0.2);
      expect(lines.at(-1)).toMatch(/^ok \(atol 1e-9, rtol 1e-6\): decided by \w+(\[\d+\])? in [a-z ]+: (abs error \S+ within atol 1e-9|rel error \S+ within rtol 1e-6), /);
    }
  }, 60_000);
});
