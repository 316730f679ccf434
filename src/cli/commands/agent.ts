/**
 * `drydock agent --server URL [--kubeconfig FILE | --in-cluster] [--runtime podman|containerd] [--interval 30s]`:
 * reports the cluster's pods and/or the host's running containers to the server as workloads (token from
 * --server-token or DRYDOCK_SERVER_TOKEN). Options: options-server.ts.
 */
import { Command } from 'commander';
import { DrydockError } from '../../core/errors.js';
import { untilInterrupted } from '../context.js';
import type { FormatName } from '../format.js';
import { addOptions, parseDuration, resolveOptions, type OptionKey } from '../options.js';

/** the agent prints nothing on stdout: no --format */
export const AGENT_FORMATS: readonly FormatName[] = [];

const KEYS: OptionKey[] = ['server', 'serverToken', 'kubeconfig', 'inCluster', 'interval', 'driftInterval', 'source', 'runtime', 'podmanSocket', 'quiet'];

export function agentCommand(): Command {
  const cmd = new Command('agent')
    .summary('report running workloads (cluster pods, host containers) to a Drydock server')
    .description(
      'Watch the cluster\'s pods (--kubeconfig or --in-cluster) and/or list the host\'s running containers (--runtime), and send them to ' +
        'the server as workloads (POST /api/v1/workloads): the server then names the workloads running an image when a new finding ' +
        'affects it. Changes are sent at most once per --interval; an unchanged set is re-sent every 5 minutes as a heartbeat.',
    );
  addOptions(cmd, KEYS);
  cmd.action(async () => {
    const v = resolveOptions(cmd, KEYS);
    const shared = v;
    const server = v.server as string | undefined;
    const token = v.serverToken as string | undefined;
    if (!server) throw new DrydockError('USAGE', 'drydock agent needs --server URL');
    if (!token) throw new DrydockError('USAGE', 'drydock agent needs a token of scope write: --server-token or DRYDOCK_SERVER_TOKEN');
    const kubeconfig = v.kubeconfig as string | undefined;
    const inCluster = v.inCluster === true;
    if (kubeconfig && inCluster) throw new DrydockError('USAGE', '--kubeconfig and --in-cluster exclude each other');
    const wantKube = Boolean(kubeconfig) || inCluster;
    // the runtime is reported when asked for, or when there is no cluster to report
    const wantRuntime = !wantKube || cmd.getOptionValueSource('runtime') === 'cli' || process.env.DRYDOCK_RUNTIME !== undefined;
    const intervalMs = parseDuration(String(v.interval));
    const driftMs = String(v.driftInterval).trim() === '0' ? 0 : parseDuration(String(v.driftInterval));
    const quiet = shared.quiet === true;
    const log = (s: string) => { if (!quiet) process.stderr.write(`${s}\n`); };

    const { Agent } = await import('../../runtime/agent.js');
    let kube: import('../../runtime/k8s/inventory.js').KubeInventory | undefined;
    if (wantKube) {
      const { KubeInventory } = await import('../../runtime/k8s/inventory.js');
      kube = new KubeInventory({ ...(kubeconfig ? { kubeconfig } : {}), inCluster, onError: (e) => log(`drydock agent: watch of pods: ${e instanceof Error ? e.message : String(e)}`) });
      await kube.start();
    }
    let runtime: import('../../runtime/types.js').ContainerRuntime | undefined;
    if (wantRuntime) {
      const { runtimeNamed } = await import('../../runtime/drift.js');
      runtime = runtimeNamed(shared.runtime as string, { podman: shared.podmanSocket ? { socket: shared.podmanSocket as string } : {} });
    }
    const source = v.source as string | undefined;
    const agent = new Agent({
      server, token, intervalMs,
      ...(kube ? { kube } : {}), ...(runtime ? { runtime } : {}),
      drift: driftMs > 0 ? { intervalMs: driftMs } : false,
      ...(source && kube ? { kubeSource: source } : {}), ...(source && !kube ? { hostSource: source } : {}),
      onReport: (r) => log(`drydock agent: ${r.source}: ${r.workloads} workloads (+${r.added} ~${r.changed} -${r.removed})`),
      onError: (e) => log(`drydock agent: ${e instanceof Error ? e.message : String(e)}`),
    });
    agent.start();
    log(`drydock agent reporting to ${server} every ${intervalMs / 1000}s${kube ? ` (cluster ${kube.clusterName})` : ''}${runtime ? ` (runtime ${runtime.name})` : ''}`);
    await untilInterrupted();
    await agent.stop();
    await kube?.stop();
  });
  return cmd;
}
