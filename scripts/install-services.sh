#!/usr/bin/env bash
# Installs the servers that @polystore/testing runs: PostgreSQL 15, redis-server,
# ZooKeeper (with a JRE) from Debian, and FerretDB v1.24.2 built with Go.
#
#   scripts/install-services.sh [--check] [postgres] [redis] [zookeeper] [ferretdb]
#
# With no names, all of them. Idempotent: when everything is present it only
# looks, which takes well under a second. --check installs nothing and exits 1
# if something is missing. Where it cannot install (not root, no apt-get, no go)
# it prints each missing program with the command that installs it and exits 1.
#
# It never starts or stops a service. Debian's postinst scripts try to start
# redis-server; while installing, a policy-rc.d that denies every start is in
# place (unless the system already has one), so that neither a running system
# service appears nor a failing start inside a container breaks the install.
set -euo pipefail

readonly FERRETDB_MODULE=github.com/FerretDB/FerretDB
readonly FERRETDB_VERSION=v1.24.2
readonly PG_VERSION=15

check_only=0
wanted=()
for arg in "$@"; do
  case "$arg" in
    --check) check_only=1 ;;
    postgres | redis | zookeeper | ferretdb) wanted+=("$arg") ;;
    -h | --help)
      sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument: $arg (expected --check, postgres, redis, zookeeper, ferretdb)" >&2
      exit 2
      ;;
  esac
done
if [ "${#wanted[@]}" -eq 0 ]; then wanted=(postgres redis zookeeper ferretdb); fi

wants() {
  local name
  for name in "${wanted[@]}"; do [ "$name" = "$1" ] && return 0; done
  return 1
}

log() { echo "install-services: $*" >&2; }

# --- what is present -------------------------------------------------------

have_postgres() { [ -x "${POLYSTORE_PG_BIN_DIR:-/usr/lib/postgresql/$PG_VERSION/bin}/postgres" ]; }
have_redis() { command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || [ -x /usr/sbin/redis-server ]; }
have_java() { command -v java >/dev/null 2>&1 || [ -x "${JAVA_HOME:-/nonexistent}/bin/java" ]; }
have_zookeeper_jar() { [ -f /usr/share/java/zookeeper.jar ]; }

go_bin_dir() {
  if [ -n "${GOBIN:-}" ]; then
    echo "$GOBIN"
  elif [ -n "${GOPATH:-}" ]; then
    echo "${GOPATH%%:*}/bin"
  else
    echo "$HOME/go/bin"
  fi
}

# The ferretdb the harness would pick (same order as ferretdb-server.ts).
find_ferretdb() {
  local candidate
  for candidate in "${POLYSTORE_FERRETDB_BIN:-}" "${GOBIN:+$GOBIN/ferretdb}" \
    "${GOPATH:+${GOPATH%%:*}/bin/ferretdb}" "$HOME/go/bin/ferretdb" "$(command -v ferretdb 2>/dev/null || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# A plain `go install ...@v1.24.2` binary panics at start (no build/version/version.txt in the
# module, FerretDB#2982); only a binary that reports its version counts as installed.
have_ferretdb() {
  local binary
  binary=$(find_ferretdb) || return 1
  # Capture first: with pipefail, `| grep -q` can exit early and SIGPIPE ferretdb, failing at random.
  local out
  out=$("$binary" --version 2>/dev/null) || return 1
  [[ "$out" == *"version: $FERRETDB_VERSION"* ]]
}

find_go() {
  command -v go 2>/dev/null || { [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; }
}

# --- installers ------------------------------------------------------------

apt_packages=()
missing_report=()
if wants postgres && ! have_postgres; then apt_packages+=("postgresql-$PG_VERSION"); fi
if wants redis && ! have_redis; then apt_packages+=(redis-server); fi
if wants zookeeper && ! have_java; then apt_packages+=(default-jre-headless); fi
if wants zookeeper && ! have_zookeeper_jar; then apt_packages+=(zookeeper); fi
need_ferretdb=0
if wants ferretdb && ! have_ferretdb; then need_ferretdb=1; fi

if [ "${#apt_packages[@]}" -eq 0 ] && [ "$need_ferretdb" -eq 0 ]; then
  log "all present: ${wanted[*]}"
  exit 0
fi

if [ "$check_only" -eq 1 ]; then
  for package in "${apt_packages[@]}"; do missing_report+=("$package: apt-get install -y $package"); done
  if [ "$need_ferretdb" -eq 1 ]; then missing_report+=("ferretdb $FERRETDB_VERSION: scripts/install-services.sh ferretdb"); fi
  printf 'missing %s\n' "${missing_report[@]}" >&2
  exit 1
fi

install_apt_packages() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    local why="not root"
    command -v apt-get >/dev/null 2>&1 || why="no apt-get"
    for package in "$@"; do missing_report+=("$package ($why): sudo apt-get install -y $package"); done
    return 0
  fi
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# Temporary, from polystore scripts/install-services.sh: start no service.\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  log "apt-get update (to install: $*)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  log "apt-get install -y --no-install-recommends $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  if [ "$created_policy" -eq 1 ]; then
    rm -f "$policy"
    trap - EXIT
  fi
}

# Builds FerretDB from its module source, adding the version file that the module
# zip lacks; `go install` cannot do this, and its binary would panic at start.
install_ferretdb() {
  local go
  if ! go=$(find_go); then
    missing_report+=("ferretdb $FERRETDB_VERSION (no go): install Go from https://go.dev/dl/, then rerun scripts/install-services.sh ferretdb")
    return 0
  fi
  local module_dir work bin_dir
  if ! module_dir=$("$go" mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" 2>/dev/null | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') ||
    [ -z "$module_dir" ]; then
    # Only when the checksum database is unreachable (sum.golang.org blocked): the proxy's zip is then trusted as is.
    log "go mod download failed; retrying with GOSUMDB=off (checksum database unreachable?)"
    module_dir=$(GOSUMDB=off "$go" mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/ferretdb-build.XXXXXX")
  # shellcheck disable=SC2064 # expand now: $work is local to this function
  trap "rm -rf '$work'" EXIT
  cp -R "$module_dir/." "$work"
  chmod -R u+w "$work"
  echo "$FERRETDB_VERSION" >"$work/build/version/version.txt"
  bin_dir=$(go_bin_dir)
  mkdir -p "$bin_dir"
  log "building ferretdb $FERRETDB_VERSION into $bin_dir (a few minutes on a cold Go cache)"
  (cd "$work" && GOFLAGS=-buildvcs=false "$go" build -trimpath -o "$bin_dir/ferretdb" ./cmd/ferretdb)
  rm -rf "$work"
  trap - EXIT
}

if [ "${#apt_packages[@]}" -gt 0 ]; then install_apt_packages "${apt_packages[@]}"; fi
if [ "$need_ferretdb" -eq 1 ]; then install_ferretdb; fi

if [ "${#missing_report[@]}" -gt 0 ]; then
  log "could not install everything; run:"
  printf '  %s\n' "${missing_report[@]}" >&2
  exit 1
fi

# Verify, so that a half-done install does not pass as success.
failed=0
if wants postgres && ! have_postgres; then log "postgres still missing"; failed=1; fi
if wants redis && ! have_redis; then log "redis-server still missing"; failed=1; fi
if wants zookeeper && { ! have_java || ! have_zookeeper_jar; }; then log "zookeeper or java still missing"; failed=1; fi
if wants ferretdb && ! have_ferretdb; then log "ferretdb $FERRETDB_VERSION still missing or broken"; failed=1; fi
if [ "$failed" -eq 0 ]; then log "installed: ${wanted[*]}"; fi
exit "$failed"
