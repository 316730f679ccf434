/**
 * The agent as its own process for the CPU benchmark (bench-agent.ts): watches the cluster of a
 * kubeconfig and reports to a server, like `drydock agent --kubeconfig FILE`.
 * argv: <kubeconfig> <server url> <token> <interval ms>
 */
import { Agent } from '../../agent.js';
import { KubeInventory } from '../inventory.js';

const [kubeconfig, server, token, interval] = process.argv.slice(2) as [string, string, string, string];
const kube = new KubeInventory({ kubeconfig });
await kube.start();
const agent = new Agent({ server, token, kube, intervalMs: Number(interval), onError: (e) => process.stderr.write(`agent: ${String(e)}\n`) });
agent.start();
process.on('SIGTERM', () => {
  void agent.stop().then(() => kube.stop()).then(() => process.exit(0));
});
