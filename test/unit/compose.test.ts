import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const env = { ...process.env, MINIO_ROOT_USER: 'u', MINIO_ROOT_PASSWORD: 'p-long-enough', EXHIBIT_S3_ACCESS_KEY: 'exhibit-app', EXHIBIT_S3_SECRET_KEY: 'app-secret-long', EXHIBIT_TSA_URLS: 'http://tsa.example/' };

describe('docker-compose.yml', () => {
  it('is accepted by docker-compose config and defines redis (AOF), minio, a lock-enabled bucket set-up and the worker', () => {
    const out = execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { env, encoding: 'utf8' });
    const doc = parse(out) as { services: Record<string, { command?: string[] | string; entrypoint?: string[]; environment?: Record<string, string> }> };
    expect(Object.keys(doc.services).sort()).toEqual(['minio', 'minio-setup', 'redis', 'worker']);
    expect(JSON.stringify(doc.services.redis!.command)).toContain('--appendonly');
    expect(JSON.stringify(doc.services['minio-setup']!.command)).toContain('--with-lock');
    expect(JSON.stringify(doc.services['minio-setup']!.command)).toContain('retention set --default');
    expect(doc.services.worker!.environment!.EXHIBIT_STORE).toBe('s3');
  });

  it('gives the application its own MinIO user with the policy file, never the root user, and COMPLIANCE by default', () => {
    const out = execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { env, encoding: 'utf8' });
    const doc = parse(out) as { services: Record<string, { command?: string[] | string; environment?: Record<string, string>; volumes?: unknown }> };
    const worker = doc.services.worker!.environment!;
    expect(worker.EXHIBIT_S3_ACCESS_KEY).toBe('exhibit-app');
    expect(Object.values(worker)).not.toContain('u');
    expect(Object.values(worker)).not.toContain('p-long-enough');
    expect(worker.EXHIBIT_S3_RETENTION_MODE).toBe('COMPLIANCE');
    const setup = doc.services['minio-setup']!;
    const cmd = JSON.stringify(setup.command);
    expect(cmd).toContain('admin user add');
    expect(cmd).toContain('admin policy create ev exhibit-app');
    expect(cmd).toContain('admin policy attach ev exhibit-app');
    expect(setup.environment!.MODE).toBe('COMPLIANCE');
    expect(JSON.stringify(setup.volumes)).toContain('deploy/minio/app-policy.json');
  });

  it('refuses to start without the MinIO credentials (no default secrets)', () => {
    const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/MINIO_ROOT_USER/);
  });
});
