// A worker process for the fault tests (src/server/worker.test.ts), running the built code in dist/.
// argv: <store url> <vulndb path> <receiver url> <kill point: image:N | sent:N | none> <lease ms>
// At the kill point the process sends itself SIGKILL: no cleanup, no pending write, like a crash.
import { openStore } from '../../../dist/store/index.js';
import { VulnDb } from '../../../dist/vulndb/index.js';
import { runWorker } from '../../../dist/server/worker.js';

const [storeUrl, dbPath, , killAt = 'none', lease = '1000'] = process.argv.slice(2);
const [point, nth] = killAt.split(':');
let count = 0;
const maybeDie = (at) => {
  if (point === at && ++count >= Number(nth)) process.kill(process.pid, 'SIGKILL');
};
const leaseMs = Number(lease);
const store = await openStore(storeUrl);
const db = VulnDb.open(dbPath);
try {
  const summary = await runWorker(store, db, {
    once: true,
    leaseMs,
    pollMs: 50,
    reevaluate: { onImage: () => maybeDie('image') },
    deliver: { leaseMs, backoffMs: () => 0, batch: 20, onSent: () => maybeDie('sent') },
  });
  process.send?.({ summary });
} finally {
  db.close();
  await store.close();
}
