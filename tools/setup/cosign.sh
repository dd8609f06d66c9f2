#!/usr/bin/env bash
# Sigstore's cosign, for the interoperability test that checks Alki's signatures with
# `cosign verify-blob`. Debian 12 has no cosign; Debian 13 (trixie) ships 2.5.0, which
# links only libc (>= 2.34), so it is taken from that package exactly as quadlet.sh
# takes quadlet: apt downloads it with a private sources list and state directory (the
# system's apt configuration is not touched), the .deb is checked against the sha256
# pinned here, and only the binary is extracted. Nothing is installed into the system.
#   -> $XDG_CACHE_HOME/alki/cosign/<version>/cosign (default ~/.cache)
set -euo pipefail

. "$(dirname "$0")/trixie-apt.sh"
version=2.5.0-2+b5
sha256=3b6eadd27f3c4c00bfa7eab5c2397a6a15a763630c7a1d40d06ff60d24799eef
cache="${XDG_CACHE_HOME:-$HOME/.cache}/alki/cosign"
dest="$cache/${version%%-*}"
if [ -x "$dest/cosign" ]; then
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "Fetching cosign $version from Debian $TRIXIE_SUITE" >&2
trixie_apt_init "$work"
if ! (cd "$work" && apt-get "${TRIXIE_APT_OPTS[@]}" download -qq "cosign=$version"); then
  echo "cosign $version is no longer in Debian $TRIXIE_SUITE; pin the version and sha256 it has now (apt-cache show cosign) in $0" >&2
  exit 1
fi
echo "$sha256  $(ls "$work"/cosign_*.deb)" | sha256sum --check --quiet
dpkg-deb -x "$work"/cosign_*.deb "$work/x"
"$work/x/usr/bin/cosign" version >/dev/null
mkdir -p "$dest"
install -m 0755 "$work/x/usr/bin/cosign" "$dest/cosign.partial"
mv "$dest/cosign.partial" "$dest/cosign"
echo "cosign ${version%%-*} -> $dest/cosign" >&2
