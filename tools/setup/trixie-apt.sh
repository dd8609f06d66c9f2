# Sourced by the setup scripts that take one binary from a Debian 13 (trixie) package
# (quadlet.sh, cosign.sh). apt works from a private sources list and state directory
# under a work folder, so the system's apt configuration is not touched, and packages
# are verified against Debian's archive keys as usual.
#   trixie_apt_init WORK   sets TRIXIE_APT_OPTS (for apt-get and apt-cache) and fetches the package lists
TRIXIE_SUITE=trixie

trixie_apt_init() {
  local work=$1
  mkdir -p "$work/lists/partial" "$work/archives/partial"
  echo "deb http://deb.debian.org/debian $TRIXIE_SUITE main" >"$work/sources.list"
  TRIXIE_APT_OPTS=(
    -o "Dir::Etc::SourceList=$work/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$work/lists"
    -o "Dir::Cache::Archives=$work/archives"
    -o "APT::Sandbox::User=root"
    -o "Debug::NoLocking=1"
  )
  apt-get "${TRIXIE_APT_OPTS[@]}" update -qq
}
