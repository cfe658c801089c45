import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take a minute or more of one worker, started first in their project. On a fresh clone (CI) vitest has
 * no timings yet and starts larger files first; one of these started last would leave the other worker idle while it
 * finishes. With timings cached, vitest's own order (longest first) already does this.
 */
const LONG = ['test/foundation/root.e2e.test.ts', 'test/foundation/lint.e2e.test.ts', 'test/foundation/embedded.e2e.test.ts'];

export default class LongFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const index = LONG.findIndex((file) => spec.moduleId.endsWith(`/${file}`));
      return index === -1 ? LONG.length : index;
    };
    // Stable within each project, whose order vitest keeps.
    const projects = [...new Set(sorted.map((spec) => spec.project.name))];
    return projects.flatMap((name) => {
      const own = sorted.filter((spec) => spec.project.name === name);
      return own
        .map((spec, i) => ({ spec, i }))
        .sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i)
        .map(({ spec }) => spec);
    });
  }
}
