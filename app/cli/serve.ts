import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit serve`: the HTTP API and the web app. */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('serve')
    .description('serve the HTTP API (OpenAPI at /openapi.json) and the web app; captures are made by `exhibit worker`')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', (v) => Number.parseInt(v, 10), 8080)
    .option('--max-upload <bytes>', 'largest package accepted for verification, in bytes (default 2 GiB)', (v) => Number.parseInt(v, 10))
    .option('--secure-cookies', 'mark the session cookie Secure (when served behind TLS)')
    .action(
      action(async (opts: { host: string; port: number; maxUpload?: number; secureCookies?: boolean }) => {
        const { serveCommand } = await import('../commands/serve.js');
        return serveCommand(config(), { host: opts.host, port: opts.port, maxUploadBytes: opts.maxUpload, secureCookies: Boolean(opts.secureCookies) });
      }),
    );
}
