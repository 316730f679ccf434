/**
 * Key passwords: DRYDOCK_PASSWORD, then COSIGN_PASSWORD (set but empty means the empty password,
 * as cosign reads it), else a prompt on a terminal without echo, else KEY_PASSWORD.
 */
import { DrydockError } from '../../core/errors.js';
import type { PasswordSource } from '../types.js';

export const PASSWORD_ENV_VARS = ['DRYDOCK_PASSWORD', 'COSIGN_PASSWORD'] as const;

/** The password from the environment, or undefined when neither variable is set. */
export function passwordFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const name of PASSWORD_ENV_VARS) {
    const v = env[name];
    if (v !== undefined) return v;
  }
  return undefined;
}

export interface PromptStreams {
  input: NodeJS.ReadStream;
  output: NodeJS.WritableStream;
}

/** Reads one line from a terminal in raw mode, echoing nothing. Ctrl-C / Ctrl-D abort with KEY_PASSWORD. */
export function promptSecret(prompt: string, streams: PromptStreams = { input: process.stdin, output: process.stderr }): Promise<string> {
  const { input, output } = streams;
  if (!input.isTTY || typeof input.setRawMode !== 'function') {
    return Promise.reject(new DrydockError('KEY_PASSWORD', 'no password given (set DRYDOCK_PASSWORD or COSIGN_PASSWORD) and standard input is not a terminal to prompt on'));
  }
  output.write(prompt);
  return new Promise((resolve, reject) => {
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.resume();
    let value = '';
    const finish = (err?: DrydockError): void => {
      input.removeListener('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of Buffer.isBuffer(chunk) ? chunk.toString('utf8') : chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003' || ch === '\u0004') return finish(new DrydockError('KEY_PASSWORD', 'password prompt aborted'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    input.on('data', onData);
  });
}

export interface PasswordSourceOptions {
  env?: NodeJS.ProcessEnv;
  /** what the prompt names: "Enter password for private key cosign.key: " */
  prompt?: string;
  /** ask twice and compare (new keys) */
  confirm?: boolean;
  streams?: PromptStreams;
}

/** The default source: the environment, else a terminal prompt, else KEY_PASSWORD. */
export function defaultPasswordSource(opts: PasswordSourceOptions = {}): PasswordSource {
  return async () => {
    const fromEnv = passwordFromEnv(opts.env ?? process.env);
    if (fromEnv !== undefined) return fromEnv;
    const first = await promptSecret(opts.prompt ?? 'Enter password for private key: ', opts.streams);
    if (opts.confirm) {
      const again = await promptSecret('Enter password for private key again: ', opts.streams);
      if (again !== first) throw new DrydockError('KEY_PASSWORD', 'the two passwords do not match');
    }
    return first;
  };
}
