import type { Inventory } from '../inventory/inventory.js';
import { POD_LABELS } from '../metrics/series.js';
import { ANALYSIS_ARGS, ANALYSIS_TEMPLATE_NAME } from './analysis.js';

/** The workload, Service and container name in every namespace of the plan. */
export const WORKLOAD_NAME = 'alki-runtime';
export const CONTAINER_NAME = 'runtime';
/** Replaced in every overlay; a base applied alone fails to pull it rather than running something unpinned. */
export const BASE_IMAGE = 'alki-runtime-set-by-overlay';
export const BASE_BUNDLE_URI = 'set-by-overlay';
// The image's user (packages/image-builder/src/runtime/runtime-image.ts: User 65532:65532).
const RUNTIME_UID = 65532;
// A first start pulls the bundle (gigabytes over an edge link) before
// llama-server listens: the startup probe allows 30 minutes.
const STARTUP_PERIOD_S = 10;
const STARTUP_FAILURES = 180;

const SELECTOR_LABELS = { 'app.kubernetes.io/name': WORKLOAD_NAME };

/** The pod template of the two-stage runtime, before an overlay pins its image, bundle and settings. */
function podTemplate(inventory: Inventory): Record<string, unknown> {
  const port = inventory.runtime.port;
  const probe = (periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path: '/health', port: 'http' },
    periodSeconds,
    timeoutSeconds: 5,
    failureThreshold,
  });
  return {
    metadata: {
      labels: { ...SELECTOR_LABELS, [POD_LABELS.fleet]: inventory.name },
      annotations: {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(port),
        'prometheus.io/path': '/metrics',
      },
    },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: RUNTIME_UID,
        runAsGroup: RUNTIME_UID,
        fsGroup: RUNTIME_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      // One model server per device: a second would not fit its memory.
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            {
              labelSelector: { matchLabels: SELECTOR_LABELS },
              namespaceSelector: {},
              topologyKey: 'kubernetes.io/hostname',
            },
          ],
        },
      },
      terminationGracePeriodSeconds: 30,
      containers: [
        {
          name: CONTAINER_NAME,
          image: BASE_IMAGE,
          args: [],
          env: [{ name: 'ALKI_BUNDLE_URI', value: BASE_BUNDLE_URI }],
          ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
          startupProbe: probe(STARTUP_PERIOD_S, STARTUP_FAILURES),
          readinessProbe: probe(10, 3),
          livenessProbe: probe(20, 6),
          resources: {},
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
          volumeMounts: [
            { name: 'bundles', mountPath: '/var/lib/alki' },
            { name: 'tmp', mountPath: '/tmp' },
          ],
        },
      ],
      // The bundle survives container restarts (the runtime skips the download
      // when it is intact) and goes with the pod; a hostPath would outlive it
      // but is root-owned, and the runtime runs as 65532.
      volumes: [
        { name: 'bundles', emptyDir: {} },
        { name: 'tmp', emptyDir: {} },
      ],
    },
  };
}

function objectMeta(inventory: Inventory) {
  return {
    name: WORKLOAD_NAME,
    labels: {
      ...SELECTOR_LABELS,
      'app.kubernetes.io/part-of': inventory.name,
      'app.kubernetes.io/managed-by': 'alki',
    },
  };
}

/** A Deployment of the runtime, replaced one device at a time. */
export function baseDeployment(inventory: Inventory): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(inventory),
    spec: {
      replicas: 1,
      revisionHistoryLimit: 3,
      selector: { matchLabels: SELECTOR_LABELS },
      // No surge: the new pod can only start where an old one stopped.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
      template: podTemplate(inventory),
    },
  };
}

/**
 * An Argo Rollouts canary of the runtime: the fleet's steps (weights and
 * pauses), with the canary analysis running in the background from the
 * first step, so a failed check aborts the rollout at once.
 */
export function baseRollout(inventory: Inventory): Record<string, unknown> {
  const steps = inventory.canarySteps.flatMap((step) => [
    { setWeight: step.weight },
    ...(step.pause ? [{ pause: { duration: step.pause } }] : []),
  ]);
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: objectMeta(inventory),
    spec: {
      replicas: 1,
      revisionHistoryLimit: 3,
      selector: { matchLabels: SELECTOR_LABELS },
      template: podTemplate(inventory),
      strategy: {
        canary: {
          maxSurge: 0,
          maxUnavailable: 1,
          analysis: {
            templates: [{ templateName: ANALYSIS_TEMPLATE_NAME }],
            startingStep: 1,
            args: [
              { name: ANALYSIS_ARGS.group, value: BASE_BUNDLE_URI },
              { name: ANALYSIS_ARGS.digest, value: BASE_BUNDLE_URI },
            ],
          },
          steps,
        },
      },
    },
  };
}

/** The Service in front of the runtime. */
export function baseService(inventory: Inventory): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(inventory),
    spec: {
      selector: SELECTOR_LABELS,
      ports: [{ name: 'http', port: inventory.runtime.port, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}
