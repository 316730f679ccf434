/**
 * Kubernetes API responses as an API server (v1.30) sends them, trimmed of managedFields. Typed with
 * kubernetes-types, so a fixture that does not follow the Kubernetes schema fails to compile.
 */
import type { Pod, PodList } from 'kubernetes-types/core/v1.js';
import type { Status } from 'kubernetes-types/meta/v1.js';

export const DIGEST_WEB = 'sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac';
export const DIGEST_DB = 'sha256:2d3c2a2a5a1ad8f6e6cc4d3b0bc05ee9d6c5c6f2aa8a56b51f0b4a0a6a7d81c5';
export const DIGEST_AGENT = 'sha256:9b8a1a9fdc33e8f0b1b3d2ce23d4a4b0e0b9a4b1c6b2d0c2e1f2a3b4c5d6e7f8';
export const DIGEST_JOB = 'sha256:5e2c7b1d3a4f6e8d9c0b1a2f3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d';

/** A Deployment's pod (through ReplicaSet web-7d4b9c8f6d), containerd imageID, two containers. */
export const POD_WEB_1: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-7d4b9c8f6d-x2x9q',
    generateName: 'web-7d4b9c8f6d-',
    namespace: 'shop',
    uid: '0b7f5d1e-2c3a-4f4e-9b1a-5f6e7d8c9a01',
    resourceVersion: '10481',
    creationTimestamp: '2025-02-27T09:14:03Z',
    labels: { app: 'web', 'pod-template-hash': '7d4b9c8f6d', team: 'payments', owner: 'alice@example.com' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9c8f6d', uid: 'c7e1d0a2-5b3c-4d2e-8f1a-0a9b8c7d6e5f', controller: true, blockOwnerDeletion: true }],
  },
  spec: {
    nodeName: 'node-a',
    serviceAccountName: 'default',
    containers: [
      { name: 'web', image: 'registry.example.com/shop/web:1.4.2', ports: [{ containerPort: 8080, protocol: 'TCP' }] },
      { name: 'envoy', image: `docker.io/envoyproxy/envoy@${DIGEST_AGENT}` },
    ],
  },
  status: {
    phase: 'Running',
    hostIP: '10.0.0.11',
    podIP: '10.244.1.17',
    startTime: '2025-02-27T09:14:03Z',
    containerStatuses: [
      {
        name: 'web', ready: true, restartCount: 0, started: true,
        image: 'registry.example.com/shop/web:1.4.2',
        imageID: `registry.example.com/shop/web@${DIGEST_WEB}`,
        containerID: 'containerd://5f1e0c9a0d3b2a1f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a79',
        state: { running: { startedAt: '2025-02-27T09:14:05Z' } },
      },
      {
        name: 'envoy', ready: true, restartCount: 0, started: true,
        image: `docker.io/envoyproxy/envoy@${DIGEST_AGENT}`,
        imageID: `docker.io/envoyproxy/envoy@${DIGEST_AGENT}`,
        containerID: 'containerd://6a2f1d0b1e4c3b2a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b80',
        state: { running: { startedAt: '2025-02-27T09:14:06Z' } },
      },
    ],
  },
};

/** A StatefulSet's pod on a Docker node (dockershim's docker-pullable:// imageID). */
export const POD_DB_0: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'db-0', namespace: 'shop', uid: '1c8e6f2a-3d4b-4a5f-8c2b-6a7f8e9d0b12', resourceVersion: '10502',
    creationTimestamp: '2025-02-26T17:40:11Z',
    labels: { app: 'db', 'statefulset.kubernetes.io/pod-name': 'db-0', 'drydock.owner': 'dba@example.com' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'd8f2e1b3-6c4d-4e3f-9a2b-1b0c9d8e7f60', controller: true, blockOwnerDeletion: true }],
  },
  spec: { nodeName: 'node-b', containers: [{ name: 'postgres', image: 'postgres:16' }] },
  status: {
    phase: 'Running',
    containerStatuses: [{
      name: 'postgres', ready: true, restartCount: 1, started: true, image: 'postgres:16',
      imageID: `docker-pullable://postgres@${DIGEST_DB}`,
      containerID: 'docker://7b3f2e1c2f5d4c3b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c91',
      state: { running: { startedAt: '2025-02-26T17:40:20Z' } },
    }],
  },
};

/** A DaemonSet's pod whose image is only known by its local id (no repo digest). */
export const POD_LOGS: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'logs-8kq2p', namespace: 'kube-system', uid: '2d9f7a3b-4e5c-4b6a-9d3c-7b8a9f0e1c23', resourceVersion: '9977',
    labels: { 'app.kubernetes.io/name': 'logs', 'controller-revision-hash': '6b5d8c7f9', 'pod-template-generation': '3' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'logs', uid: 'e9a3f2c4-7d5e-4f4a-8b3c-2c1d0e9f8a71', controller: true }],
  },
  spec: { nodeName: 'node-a', containers: [{ name: 'fluent-bit', image: 'fluent/fluent-bit:3.0' }] },
  status: {
    phase: 'Running',
    containerStatuses: [{
      name: 'fluent-bit', ready: true, restartCount: 0, image: 'fluent/fluent-bit:3.0',
      imageID: 'docker://sha256:8e1f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f',
      state: { running: { startedAt: '2025-02-20T08:00:00Z' } },
    }],
  },
};

/** A Job's pod that finished: runs nothing. */
export const POD_JOB_DONE: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'migrate-29012345-abcde', namespace: 'shop', uid: '3e0a8b4c-5f6d-4c7b-8e4d-8c9b0a1f2d34', resourceVersion: '10100',
    labels: { 'batch.kubernetes.io/job-name': 'migrate-29012345', 'job-name': 'migrate-29012345' },
    ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'migrate-29012345', uid: 'f0b4a3d5-8e6f-4a5b-9c4d-3d2e1f0a9b82', controller: true }],
  },
  spec: { nodeName: 'node-b', restartPolicy: 'Never', containers: [{ name: 'migrate', image: 'registry.example.com/shop/migrate:7' }] },
  status: {
    phase: 'Succeeded',
    containerStatuses: [{
      name: 'migrate', ready: false, restartCount: 0, image: 'registry.example.com/shop/migrate:7',
      imageID: `registry.example.com/shop/migrate@${DIGEST_JOB}`,
      state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: '2025-02-28T00:00:02Z', finishedAt: '2025-02-28T00:00:09Z' } },
    }],
  },
};

/** A running Job's pod (the Job, not a CronJob, is its owner). */
export const POD_JOB_RUNNING: Pod = {
  ...POD_JOB_DONE,
  metadata: { ...POD_JOB_DONE.metadata, name: 'migrate-29012399-fghij', uid: '4f1b9c5d-6a7e-4d8c-9f5e-9d0c1b2a3e45', resourceVersion: '10610',
    ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'migrate-29012399', uid: 'a1c5b4e6-9f7a-4b6c-8d5e-4e3f2a1b0c93', controller: true }] },
  status: {
    phase: 'Running',
    containerStatuses: [{
      name: 'migrate', ready: true, restartCount: 0, image: 'registry.example.com/shop/migrate:7',
      imageID: `registry.example.com/shop/migrate@${DIGEST_JOB}`, state: { running: { startedAt: '2025-03-01T12:00:02Z' } },
    }],
  },
};

/** The second replica of the Deployment, added by the watch. */
export const POD_WEB_2: Pod = {
  ...POD_WEB_1,
  metadata: { ...POD_WEB_1.metadata, name: 'web-7d4b9c8f6d-p8m4z', uid: '5a2c0d6e-7b8f-4e9d-8a6f-0e1d2c3b4f56', resourceVersion: '10600' },
  spec: { ...POD_WEB_1.spec!, nodeName: 'node-b' },
};

/** POD_WEB_1 with a status-only change (readiness): the workloads do not change. */
export const POD_WEB_1_NOT_READY: Pod = {
  ...POD_WEB_1,
  metadata: { ...POD_WEB_1.metadata, resourceVersion: '10605' },
  status: { ...POD_WEB_1.status!, containerStatuses: POD_WEB_1.status!.containerStatuses!.map((s) => ({ ...s, ready: false })) },
};

export function podList(items: Pod[], resourceVersion: string, cont?: string): PodList {
  return { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion, ...(cont ? { continue: cont } : {}) }, items };
}

/** The Status object of an expired resourceVersion (as a watch ERROR event or a 410 body). */
export function goneStatus(rv: string): Status {
  return { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Failure', message: `too old resource version: ${rv} (10700)`, reason: 'Expired', code: 410 };
}

/** n simulated pods of one Deployment (the agent benchmark). */
export function simulatedPods(n: number, rv = 20000): Pod[] {
  return Array.from({ length: n }, (_, i) => ({
    ...POD_WEB_1,
    metadata: { ...POD_WEB_1.metadata, name: `sim-7d4b9c8f6d-${String(i).padStart(5, '0')}`, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, resourceVersion: String(rv + i) },
  }));
}
