/** Module boundaries from ARCHITECTURE.md: schemas <- lib <- {collectors, evidence} <- analysis <- workers <- app; bench/ beside app. */
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
    { name: 'nothing-imports-app', severity: 'error', from: { pathNot: '^(app|test|bench)/' }, to: { path: '^app/' } },
    // The package benchmark measures exactly what `exhibit package` runs, and nothing else of app/.
    { name: 'bench-uses-app-package-case-only', severity: 'error', from: { path: '^bench/' }, to: { path: '^app/', pathNot: '^app/package-case\\.ts$' } },
    { name: 'only-the-bench-command-imports-bench', severity: 'error', from: { pathNot: '^(bench/|test/|app/commands/bench\\.ts$)' }, to: { path: '^bench/' } },
    // Workers reach collectors through their interface (collector.ts, registry.ts), not browser internals.
    { name: 'workers-not-into-browser-helpers', severity: 'error', from: { path: '^workers/' }, to: { path: '^collectors/browser/' } },
    { name: 'workers-below-app', severity: 'error', from: { path: '^workers/' }, to: { path: '^app/' } },
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
