#!/usr/bin/env bash
# Podman's quadlet generator, for the tests that turn Alki's .container files into
# systemd units. Debian 12's podman (4.3) predates quadlet, so the generator is taken
# from Debian 13 (trixie)'s podman package: apt downloads and verifies the package
# against Debian's archive keys, using a private sources list and state directory
# (the system's apt configuration is not touched), and only the generator binary is
# extracted (it links only libc). Nothing is installed into the system.
#   -> $XDG_CACHE_HOME/alki/quadlet/<podman version>/quadlet (default ~/.cache)
set -euo pipefail

. "$(dirname "$0")/trixie-apt.sh"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/alki/quadlet"
if compgen -G "$cache/*/quadlet" >/dev/null; then
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "Fetching podman's quadlet generator from Debian $TRIXIE_SUITE" >&2
trixie_apt_init "$work"
version=$(apt-cache "${TRIXIE_APT_OPTS[@]}" show --no-all-versions podman | sed -n 's/^Version: //p')
(cd "$work" && apt-get "${TRIXIE_APT_OPTS[@]}" download -qq "podman=$version")
dpkg-deb -x "$work"/podman_*.deb "$work/x"
"$work/x/usr/libexec/podman/quadlet" -version >/dev/null
dest="$cache/${version%%+*}"
mkdir -p "$dest"
install -m 0755 "$work/x/usr/libexec/podman/quadlet" "$dest/quadlet.partial"
mv "$dest/quadlet.partial" "$dest/quadlet"
echo "quadlet ${version%%+*} -> $dest/quadlet" >&2
