import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';

// Loading the program must not load any command's work: each of these throws when imported, so a
// declaration in app/cli/ that imports its implementation eagerly fails this file.
vi.mock('bullmq', () => {
  throw new Error('bullmq loaded while building the program');
});
vi.mock('playwright-core', () => {
  throw new Error('playwright-core loaded while building the program');
});
vi.mock('ioredis', () => {
  throw new Error('ioredis loaded while building the program');
});
vi.mock('minio', () => {
  throw new Error('minio loaded while building the program');
});
vi.mock('pkijs', () => {
  throw new Error('pkijs loaded while building the program');
});
vi.mock('sharp', () => {
  throw new Error('sharp loaded while building the program');
});
vi.mock('hono', () => {
  throw new Error('hono loaded while building the program');
});
vi.mock('../../../workers/runtime.js', () => {
  throw new Error('workers/runtime loaded while building the program');
});
vi.mock('../../../app/commands/common.js', () => {
  throw new Error('app/commands/common loaded while building the program');
});

const CLI_DIR = fileURLToPath(new URL('../../../app/cli/', import.meta.url));

const names = (c: Command): string[] => c.commands.map((x) => x.name());

describe('CLI commands declare and register themselves', () => {
  it('builds the whole program without loading any command implementation', async () => {
    const { buildProgram } = await import('../../../app/cli.js');
    const program = buildProgram(() => undefined);
    expect(names(program)).toContain('capture');
    expect(program.commands.find((c) => c.name() === 'users')?.commands.map((c) => c.name())).toEqual(['add', 'token', 'cases', 'list']);
  });

  it('every module in app/cli/ is in the command list, and the program registers exactly what they declare', async () => {
    const { buildProgram, COMMANDS } = await import('../../../app/cli.js');
    const files = (await readdir(CLI_DIR)).filter((f) => f.endsWith('.ts') && f !== 'deps.ts').sort();
    expect(files.length).toBeGreaterThan(15);
    const declared: string[] = [];
    for (const file of files) {
      const mod = (await import(/* @vite-ignore */ path.join(CLI_DIR, file))) as { register?: unknown };
      expect(typeof mod.register, `${file} exports register`).toBe('function');
      expect(COMMANDS, `${file} is listed in app/cli.ts COMMANDS`).toContain(mod);
      const scratch = new Command('scratch');
      (mod as { register: (p: Command, d: unknown) => void }).register(scratch, { config: () => ({}), globals: () => ({}), action: () => async () => undefined });
      expect(names(scratch).length, `${file} registers a command`).toBeGreaterThan(0);
      declared.push(...names(scratch));
    }
    expect(names(buildProgram(() => undefined)).sort()).toEqual(declared.sort());
    expect(new Set(declared).size).toBe(declared.length);
  });
});
