#!/usr/bin/env bash
# The one command that passes the tests on a fresh machine (README "Run the tests").
# Installs Debian packages and npm dependencies, builds the evaluation corpus (without the big
# image) when ../shared is there, then builds, type-checks, checks import rules and runs vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
need_pkgs=()
for p in docker-registry:docker-registry skopeo:skopeo umoci:umoci zstd:zstd htpasswd:apache2-utils podman:podman runc:runc debootstrap:debootstrap go:golang-go rpmbuild:rpm db5.3_load:db5.3-util objcopy:binutils openssl:openssl dpkg:dpkg ruby:ruby java:default-jre-headless mvn:maven softhsm2-util:softhsm2 pkcs11-tool:opensc containerd:containerd ctr:containerd; do
  cmd=${p%%:*}; pkg=${p#*:}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || need_pkgs+=("$pkg")
done
# oracles of the version-comparison tests: Python packaging and Go's x/mod/semver as Debian ships them
/usr/bin/python3 -c 'import packaging' 2>/dev/null || need_pkgs+=(python3-packaging)
[ -d /usr/share/gocode/src/golang.org/x/mod/semver ] || need_pkgs+=(golang-golang-x-mod-dev)
# a real SMTP server for the email notification tests
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || need_pkgs+=(python3-aiosmtpd)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "installing: ${need_pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

npm ci --no-audit --no-fund --loglevel=error

# the store's contract tests run on the PostgreSQL server of this machine (127.0.0.1:5432, trust auth)
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters --no-header 2>/dev/null | while read -r ver cluster _port status _rest; do
    [ "$status" = online ] || $SUDO pg_ctlcluster "$ver" "$cluster" start || true
  done
fi

# The corpus of real images (../shared/corpus/build.sh); corpus tests read DRYDOCK_CORPUS.
# build.sh resolves its helper scripts from $0 after changing directory, so call it by absolute path.
BUILD_SH=$(realpath -e ../shared/corpus/build.sh 2>/dev/null || true)
if [ -z "${DRYDOCK_CORPUS:-}" ] && [ -n "$BUILD_SH" ]; then
  export DRYDOCK_CORPUS=/var/tmp/drydock-corpus-ci
  if [ ! -f "$DRYDOCK_CORPUS/images/app-zstd.oci.tar" ] || [ ! -f "$DRYDOCK_CORPUS/images/distroless.docker.tar" ]; then
    echo "building the image corpus in $DRYDOCK_CORPUS (SKIP_BIG=1, about 5 minutes)" >&2
    log="${TMPDIR:-/tmp}/drydock-corpus-build.log"
    SKIP_BIG=1 bash "$BUILD_SH" "$DRYDOCK_CORPUS" >"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
  fi
fi

npm run build
npm run typecheck
npm run lint:deps
npx vitest run
