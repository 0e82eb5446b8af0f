import { Option, type Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit worker`: the capture, seal and watch workers of this process. */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('worker')
    .description('run capture, seal and watch workers until interrupted (SIGINT/SIGTERM finish running jobs first)')
    .option('--capture-concurrency <n>', 'captures at once', (v) => Number.parseInt(v, 10))
    .option('--seal-concurrency <n>', 'seal jobs at once', (v) => Number.parseInt(v, 10))
    .addOption(new Option('--only <stage>', 'run only the capture or only the seal worker').choices(['capture', 'seal']))
    .option('--metrics-port <port>', 'serve /metrics, /healthz and /readyz on this port (worker.metricsPort; 0 picks a free one)', (v) => Number.parseInt(v, 10))
    .action(
      action(async (opts: { captureConcurrency?: number; sealConcurrency?: number; only?: string; metricsPort?: number }) => {
        const { workerCommand } = await import('../commands/worker.js');
        const extra: Record<string, unknown> = {};
        if (opts.captureConcurrency) extra.capture = { concurrency: opts.captureConcurrency };
        if (opts.sealConcurrency) extra.seal = { concurrency: opts.sealConcurrency };
        if (opts.metricsPort !== undefined) extra.worker = { metricsPort: opts.metricsPort };
        return workerCommand(config(extra), opts.only);
      }),
    );
}
