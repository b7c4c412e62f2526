// DOC: prints one plain closing line after vitest's own summary,
// "vitest: N passed, N failed, N skipped", so tools that read only a
// plain count can tell how many tests ran.
export default class SummaryLineReporter {
  /** @param {import('vitest/node').TestModule[]} testModules */
  onTestRunEnd(testModules) {
    this.modules = testModules;
  }

  // Printed in onFinished, which runs after the default reporter's summary.
  onFinished() {
    const testModules = this.modules ?? [];
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      for (const t of mod.children.allTests()) {
        const s = t.result().state;
        if (s === 'passed') passed++;
        else if (s === 'failed') failed++;
        else skipped++;
      }
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) failed++;
    }
    process.stdout.write(`\nvitest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
