/** Module boundaries from ARCHITECTURE.md: schemas <- lib <- {collectors, evidence} <- analysis <- workers <- app. */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    { name: 'schemas-leaf', severity: 'error', from: { path: '^schemas/' }, to: { path: '^(lib|collectors|evidence|workers|app)/' } },
    { name: 'lib-below-domain', severity: 'error', from: { path: '^lib/' }, to: { path: '^(collectors|evidence|workers|app)/' } },
    { name: 'collectors-alone', severity: 'error', from: { path: '^collectors/' }, to: { path: '^(evidence|workers|app)/' } },
    { name: 'evidence-alone', severity: 'error', from: { path: '^evidence/' }, to: { path: '^(collectors|workers|app)/' } },
    // analysis/: derived products read from sealed artifacts through evidence/ (store reads, hashing, custody).
    { name: 'analysis-reads-evidence-only', severity: 'error', from: { path: '^analysis/' }, to: { path: '^(collectors|workers|app)/' } },
    { name: 'analysis-used-by-workers-and-app', severity: 'error', from: { pathNot: '^(analysis|workers|app|test|bench)/' }, to: { path: '^analysis/' } },
    { name: 'no-browser-or-queue-in-analysis', severity: 'error', from: { path: '^analysis/' }, to: { path: 'node_modules/(bullmq|playwright|playwright-core)/' } },
    { name: 'nothing-imports-app', severity: 'error', from: { pathNot: '^(app|test)/' }, to: { path: '^app/' } },
    { name: 'workers-below-app', severity: 'error', from: { path: '^workers/' }, to: { path: '^app/' } },
    // URL rules live in schemas/lib; workers take the browser pool (and, for now, the PDF renderer) and nothing else of collectors/browser.
    { name: 'workers-not-browser-helpers', severity: 'error', from: { path: '^workers/' }, to: { path: '^collectors/browser/', pathNot: '^collectors/browser/(pool|render-pdf)\\.ts$' } },
    { name: 'bullmq-only-in-workers-and-app', severity: 'error', from: { pathNot: '^(workers|app|test|bench)/' }, to: { path: 'node_modules/bullmq' } },
    { name: 'no-playwright-in-evidence', severity: 'error', from: { path: '^evidence/' }, to: { path: 'node_modules/playwright' } },
    { name: 'no-s3-in-collectors', severity: 'error', from: { path: '^collectors/' }, to: { path: 'node_modules/(minio|bullmq|ioredis)' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
