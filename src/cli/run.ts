/** Runs the command line in this process: argv in, exit code out (src/cli.ts boots it). */
import { main } from './main.js';

// a closed pipe (drydock ... | head) ends the run quietly
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

let settled = false;
// If the event loop empties while the command is still pending, some stream waited for an
// event that never came. Never let that pass as success.
process.on('beforeExit', () => {
  if (settled) return;
  settled = true;
  process.stderr.write('drydock: error [INTERNAL]: the run stopped before it finished (a stream stalled); please report this\n');
  process.exitCode = 3;
});

main(process.argv).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (err: unknown) => {
    settled = true;
    process.stderr.write(`drydock: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 3;
  },
);
