import type { Command } from 'commander';
import type { Config } from '../../schemas/config.js';
import type { ExitCode } from '../exit-codes.js';

/** Global options every command shares; they override env and YAML. */
export interface GlobalOpts {
  config?: string;
  stateDir?: string;
  redisUrl?: string;
  store?: 'fs' | 's3';
  logLevel?: string;
  logFormat?: string;
  collectorOption?: string[];
}

/** What `buildProgram` hands each command's `register`. */
export interface CliDeps {
  /** The config from the global options over env and YAML, with this command's own overrides. */
  config(extra?: Record<string, unknown>): Config;
  /** The global options as given. */
  globals(): GlobalOpts;
  /** A command's action: the exit code its work returns becomes the process's. */
  action<A extends unknown[]>(fn: (...args: A) => Promise<ExitCode>): (...args: A) => Promise<void>;
}

/**
 * One module per top-level command, in app/cli/: it declares the command once (arguments, options,
 * help texts) and registers it. Its work is in app/commands/ and is imported only when the command
 * runs, so `exhibit --help` and every command start without loading Chromium, BullMQ or the store.
 */
export interface CliCommand {
  register(program: Command, deps: CliDeps): void;
}
