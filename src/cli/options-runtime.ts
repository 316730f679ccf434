/** Options of the running-container commands (ps, drift), merged into OPTIONS in options.ts. */
import { d } from './option-decl.js';

export const RUNTIME_OPTIONS = {
  runtime: d({ key: 'runtime', flags: '--runtime <name>', env: 'DRYDOCK_RUNTIME', kind: 'string', default: 'podman', choices: ['podman', 'containerd', 'docker'], help: 'container runtime to ask: podman (its API socket or client), containerd (through ctr and $CONTAINERD_ADDRESS), docker (its Engine API at $DOCKER_HOST)' }),
  podmanSocket: d({ key: 'podmanSocket', flags: '--podman-socket <unix://path>', env: 'DRYDOCK_PODMAN_SOCKET', kind: 'string', help: "podman's REST API socket (podman system service); without it the podman command-line client is used" }),
  image: d({ key: 'image', flags: '--image <target>', kind: 'string', help: "the image to compare with (required for proc://PID; default for podman:// the container's image)" }),
  maxHashBytes: d({ key: 'maxHashBytes', flags: '--max-hash-bytes <bytes>', env: 'DRYDOCK_MAX_HASH_BYTES', kind: 'bytes', default: '2GiB', help: 'hash at most this many bytes of the running filesystem; past it files are compared by metadata (an issue says so)' }),
  maxWalkEntries: d({ key: 'maxWalkEntries', flags: '--max-walk-entries <n>', env: 'DRYDOCK_MAX_WALK_ENTRIES', kind: 'int', default: 1_000_000, min: 1, help: 'stop walking the running filesystem after this many entries (deletions are then not reported)' }),
} as const;
