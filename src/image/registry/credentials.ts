/**
 * Registry credential lookup, in this order:
 *   1. explicit username/password options;
 *   2. DRYDOCK_REGISTRY_USERNAME / DRYDOCK_REGISTRY_PASSWORD;
 *   3. the docker config (opts.dockerConfig, $DOCKER_CONFIG/config.json or ~/.docker/config.json):
 *      credHelpers[host] (docker-credential-<helper> get), auths[host] (auth, username/password,
 *      identitytoken), then credsStore.
 * Docker Hub is stored under https://index.docker.io/v1/. Secrets never go into error messages.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DrydockError } from '../../core/errors.js';
import { DOCKER_HUB_AUTH_KEY } from '../reference.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (docker config identitytoken, or a helper answering Username "<token>") */
  identityToken?: string;
  /** where they came from, for debug messages (never the secret) */
  source: string;
}

export interface CredentialOptions {
  username?: string;
  password?: string;
  dockerConfig?: string;
  env?: NodeJS.ProcessEnv;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string } | undefined>;
  credHelpers?: Record<string, string | undefined>;
  credsStore?: string;
}

/** The key a registry has in config.json (docker.io → https://index.docker.io/v1/). */
export function dockerConfigKey(registry: string): string {
  if (registry === 'docker.io' || registry === 'index.docker.io' || registry === 'registry-1.docker.io') return DOCKER_HUB_AUTH_KEY;
  return registry;
}

/** Normalises a config.json key (https://host/v1/ → host). */
function normaliseKey(k: string): string {
  let s = k.trim().toLowerCase();
  s = s.replace(/^[a-z]+:\/\//, '');
  const slash = s.indexOf('/');
  if (slash >= 0) s = s.slice(0, slash);
  if (s === 'index.docker.io' || s === 'registry-1.docker.io') s = 'docker.io';
  return s;
}

export function dockerConfigPath(opts: CredentialOptions): string {
  const env = opts.env ?? process.env;
  if (opts.dockerConfig) return opts.dockerConfig;
  if (env.DOCKER_CONFIG) return join(env.DOCKER_CONFIG, 'config.json');
  return join(env.HOME || homedir(), '.docker', 'config.json');
}

async function readDockerConfig(path: string): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DrydockError('AUTH_CONFIG', `cannot read docker config ${path}`, { cause: e });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
    return parsed as DockerConfig;
  } catch {
    throw new DrydockError('AUTH_CONFIG', `docker config ${path} is not valid JSON`);
  }
}

/** Runs `docker-credential-<helper> get` with the server URL on stdin. undefined when it has nothing. */
export async function runCredentialHelper(helper: string, serverUrl: string, env?: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) throw new DrydockError('AUTH_CONFIG', `invalid credential helper name ${JSON.stringify(helper)}`);
  const program = `docker-credential-${helper}`;
  const { code, stdout, spawnError } = await new Promise<{ code: number | null; stdout: string; spawnError?: Error }>((resolve) => {
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.resume();
    child.on('error', (err) => resolve({ code: null, stdout: '', spawnError: err }));
    child.on('close', (c) => resolve({ code: c, stdout: Buffer.concat(out).toString('utf8') }));
    child.stdin.on('error', () => {});
    child.stdin.end(serverUrl);
  });
  if (spawnError) throw new DrydockError('AUTH_CONFIG', `credential helper ${program} could not be run for ${serverUrl}`, { cause: spawnError });
  if (code !== 0) {
    // helpers print "credentials not found in native keychain" and exit 1 when they have nothing
    if (/not found/i.test(stdout) || stdout.trim() === '') return undefined;
    throw new DrydockError('AUTH_CONFIG', `credential helper ${program} failed for ${serverUrl} (exit ${code})`);
  }
  let parsed: { Username?: string; Secret?: string };
  try {
    parsed = JSON.parse(stdout) as { Username?: string; Secret?: string };
  } catch {
    throw new DrydockError('AUTH_CONFIG', `credential helper ${program} printed invalid JSON for ${serverUrl}`);
  }
  if (!parsed.Secret) return undefined;
  if (parsed.Username === '<token>') return { identityToken: parsed.Secret, source: program };
  return { username: parsed.Username ?? '', password: parsed.Secret, source: program };
}

/** Finds credentials for a registry (a host as in the reference: docker.io, host:port). */
export async function lookupCredentials(registry: string, opts: CredentialOptions = {}): Promise<Credentials | undefined> {
  const env = opts.env ?? process.env;
  if (opts.username !== undefined || opts.password !== undefined) {
    return { username: opts.username ?? '', password: opts.password ?? '', source: 'options' };
  }
  if (env.DRYDOCK_REGISTRY_USERNAME || env.DRYDOCK_REGISTRY_PASSWORD) {
    return { username: env.DRYDOCK_REGISTRY_USERNAME ?? '', password: env.DRYDOCK_REGISTRY_PASSWORD ?? '', source: 'environment' };
  }
  const path = dockerConfigPath(opts);
  const config = await readDockerConfig(path);
  if (!config) return undefined;
  const key = dockerConfigKey(registry);
  const want = normaliseKey(key);

  const helper = findByKey(config.credHelpers, want);
  if (helper) return runCredentialHelper(helper, key, env);

  const entry = findByKey(config.auths, want);
  if (entry) {
    let username = entry.username;
    let password = entry.password;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i < 0) throw new DrydockError('AUTH_CONFIG', `docker config ${path}: the auth entry for ${key} is not base64 of user:password`);
      username = decoded.slice(0, i);
      password = decoded.slice(i + 1);
    }
    if (entry.identitytoken) return { username, identityToken: entry.identitytoken, source: path };
    if (username !== undefined || password !== undefined) return { username: username ?? '', password: password ?? '', source: path };
  }
  if (config.credsStore) return runCredentialHelper(config.credsStore, key, env);
  return undefined;
}

function findByKey<T>(map: Record<string, T | undefined> | undefined, want: string): T | undefined {
  if (!map) return undefined;
  for (const [k, v] of Object.entries(map)) {
    if (v !== undefined && v !== null && normaliseKey(k) === want) return v;
  }
  return undefined;
}
