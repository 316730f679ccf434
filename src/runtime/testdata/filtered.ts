/** Test and benchmark helper: a runtime limited to some containers (the host's podman may run others). */
import type { ContainerRuntime, RunningContainer } from '../types.js';

/** `rt`, listing only the containers `keep` accepts; everything else goes to `rt`. */
export function filteredRuntime(rt: ContainerRuntime, keep: (c: RunningContainer) => boolean): ContainerRuntime {
  return {
    name: rt.name,
    via: rt.via,
    list: async () => (await rt.list()).filter(keep),
    inspect: (idOrName) => rt.inspect(idOrName),
    imageTarget: (c) => rt.imageTarget(c),
    containerTarget: (c) => rt.containerTarget(c),
  };
}
