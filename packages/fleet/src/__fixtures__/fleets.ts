import type { GroupProfile } from '../plan/types.js';

/** A pinned digest made from a short name, so tests read well and stay valid references. */
export function fakeDigest(name: string): string {
  return `sha256:${Buffer.from(name).toString('hex').padEnd(64, '0').slice(0, 64)}`;
}

export const RUNTIME_IMAGE = `registry.acme.internal/alki/runtime@${fakeDigest('runtime')}`;
export const BUNDLE_A = `registry.acme.internal/models/qwen3@${fakeDigest('bundle-a')}`;
export const BUNDLE_B = `registry.acme.internal/models/qwen3@${fakeDigest('bundle-b')}`;

/**
 * Three sites, two hardware classes, a canary ring: the fleet docs/fleet.md
 * walks through. Oslo and Bergen run one k3s per device; the Trondheim
 * store runs a shared three-node cluster and two plain systemd kiosks.
 */
export const THREE_SITES = `apiVersion: alki.dev/v1
kind: Fleet
name: acme-retail
runtime:
  image: ${RUNTIME_IMAGE}
gitops:
  repo: https://git.acme.internal/edge/fleet.git
  path: gitops
prometheus:
  url: http://prometheus.monitoring.svc:9090
groups:
  - name: oslo-pi5
    labels: { site: oslo, hardware: rpi5 }
    hardware: { deviceClass: rpi5 }
    reach: { k3s: { cluster: "{device}" } }
    endpoint: http://{device}.oslo.acme.internal:8080
    devices:
      - { name: oslo-pi5-01, labels: { ring: canary } }
      - { range: "oslo-pi5-{02..12}" }
  - name: bergen-n100
    labels: { site: bergen, hardware: n100 }
    hardware: { deviceClass: intel-n100 }
    server: { ctx: 4096, parallel: 2 }
    reach: { k3s: { cluster: "{device}" } }
    endpoint: http://{device}.bergen.acme.internal:8080
    devices:
      - { name: bergen-n100-01, labels: { ring: canary } }
      - { range: "bergen-n100-{02..08}" }
  - name: trondheim-n100
    labels: { site: trondheim, hardware: n100 }
    hardware: { deviceClass: intel-n100 }
    reach: { k3s: { cluster: trondheim-store } }
    devices: [trondheim-n100-01, trondheim-n100-02, trondheim-n100-03]
  - name: trondheim-kiosk
    labels: { site: trondheim, hardware: rpi5 }
    hardware: { deviceClass: rpi5 }
    reach: { systemd: {} }
    endpoint: http://{device}.trondheim.acme.internal:8080
    devices: [trondheim-kiosk-01, trondheim-kiosk-02]
rings:
  - name: canary
    selector: { ring: canary }
  - name: oslo
    selector: { site: oslo }
  - name: everyone
experiments:
  - name: q8-vs-q4
    selector: { hardware: n100 }
    split: { by: hash, percentB: 50 }
`;

/** Profiles as the catalogue would give them: a Raspberry Pi 5 (8 GB) and an Intel N100 (16 GB). */
export const PROFILES: Record<string, GroupProfile> = {
  rpi5: { source: 'device class rpi5', architecture: 'aarch64', cores: 4, memoryBytes: 8 * 1024 ** 3 },
  'intel-n100': {
    source: 'device class intel-n100',
    architecture: 'x86_64',
    cores: 4,
    memoryBytes: 16 * 1024 ** 3,
  },
};
