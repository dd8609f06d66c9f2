#!/usr/bin/env bash
# Installs the Debian packages the test suite and the native tools need, when
# they are missing. Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  cmake g++ git make            # building the native llama.cpp tools
  docker-registry apache2-utils # the CNCF distribution registry, and htpasswd for its auth tests
  skopeo umoci                  # independent OCI checks
  podman buildah runc           # running images (runc: crun fails on this VM's hybrid cgroups)
  catatonit                     # podman --init; a Recommends of podman, so --no-install-recommends drops it
  uidmap                        # podman: newuidmap for user namespaces (also a Recommends)
  systemd                       # systemd-analyze verify for generated units
  prometheus                    # Prometheus and promtool: scrape, rules and query tests
  chromium                      # headless page tests (reports, dashboard)
  file                          # identifying built binaries' architectures
  openssl                       # self-signed certificates for the TLS tests (alki serve --tls-cert)
  g++-aarch64-linux-gnu         # cross-compiling llama-server for the linux/arm64 base (alki tools build --platform)
  qemu-user-static              # running that arm64 llama-server in the tests
  strace                        # killing a process at one exact system call (the kill -9 tests)
)

# kubectl (with kustomize) is not in Debian 12; it comes with the CI machine image, and the fleet
# plan test names it (requireCommand) when it is missing.

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing Debian packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
