/**
 * A fleet file of `count` devices in groups of 50 over five sites and two hardware classes, written with
 * ranges, with three rings and a hash-split experiment: what 500 devices look like. For the fleet tests
 * and tools/bench/fleet-plan.ts.
 */
export function largeFleet(count: number, runtimeImage: string): string {
  const groups: string[] = [];
  for (let g = 0; g * 50 < count; g++) {
    const size = Math.min(50, count - g * 50);
    const site = `site-${String(g % 5).padStart(2, '0')}`;
    groups.push(`  - name: group-${String(g).padStart(3, '0')}
    labels: { site: ${site}, hardware: ${g % 2 ? 'rpi5' : 'n100'} }
    hardware: { deviceClass: ${g % 2 ? 'rpi5' : 'intel-n100'} }
    reach: { k3s: { cluster: "{device}" } }
    endpoint: http://{device}.${site}.example:8080
    devices:
      - { name: g${String(g).padStart(3, '0')}-d0001, labels: { ring: canary } }
      - { range: "g${String(g).padStart(3, '0')}-d{0002..${String(size).padStart(4, '0')}}" }`);
  }
  return `apiVersion: alki.dev/v1
kind: Fleet
name: large
runtime:
  image: ${runtimeImage}
gitops:
  repo: https://git.example.com/fleet.git
groups:
${groups.join('\n')}
rings:
  - { name: canary, selector: { ring: canary } }
  - { name: early, selector: { site: site-00 } }
  - { name: rest }
experiments:
  - name: half
    split: { by: hash, percentB: 50 }
`;
}
