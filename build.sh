#!/usr/bin/env bash
# NovaCompute build entry point.
#   ./build.sh run       install what the daemon needs, build, run it in the foreground (state in ./var)
#   ./build.sh test      install and start what the tests need, run every test
#   ./build.sh publish   Native AOT Release build in dist/nova-compute/
#   ./build.sh bench [NAME...]   benchmarks (rpc, startup, servicegroup; all when none is named)
#   ./build.sh install [--root DIR]    publish and install under /usr/lib/nova-compute with the systemd unit
#   ./build.sh uninstall [--root DIR]  remove what install put there (keeps /etc/nova and /var/lib/nova)
#   ./build.sh services  only install and start the test services (RabbitMQ, PostgreSQL, journald)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# Credentials and names the tests use. A vhost and a database of their own keep a test run
# away from anybody else's messages and rows.
# NOVA_TEST_VHOST / NOVA_TEST_DB let several test runs share this machine's broker and server.
TEST_RABBIT_VHOST=${NOVA_TEST_VHOST:-nova_compute_test}
TEST_RABBIT_USER=nova_test
TEST_RABBIT_PASS=nova_test
TEST_PG_DB=${NOVA_TEST_DB:-nova_compute_test}
TEST_PG_USER=nova_test
TEST_PG_PASS=nova_test
# ./build.sh run's daemon gets a vhost of its own, so it never takes the tests' messages.
DEV_RABBIT_VHOST=nova_compute_dev

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root for: $*"; fi
}

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated -eq 0 ]; then log "apt-get update"; as_root apt-get update -qq; apt_updated=1; fi
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_journald() {
  [ -S /run/systemd/journal/socket ] && pgrep -x systemd-journal >/dev/null && return 0
  log "starting systemd-journald"
  as_root mkdir -p /run/systemd/journal
  as_root setsid /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 50); do [ -S /run/systemd/journal/socket ] && return 0; sleep 0.1; done
  die "systemd-journald did not create /run/systemd/journal/socket"
}

# rabbit_vhost NAME: the vhost exists and the test user may use it.
rabbit_vhost() {
  if ! as_root rabbitmqctl -q list_vhosts | grep -qx "$1"; then
    as_root rabbitmqctl -q add_vhost "$1" >/dev/null
  fi
  as_root rabbitmqctl -q set_permissions -p "$1" "$TEST_RABBIT_USER" '.*' '.*' '.*' >/dev/null
}

start_rabbitmq() {
  if ! as_root rabbitmqctl -q status >/dev/null 2>&1; then
    log "starting rabbitmq-server"
    as_root rabbitmq-server -detached >/dev/null 2>&1 || true
    # -detached returns before the node has registered with epmd, when await_startup still
    # answers "no node": ask again until it knows the node.
    local tries=0
    until as_root rabbitmqctl -q await_startup --timeout 120 >/dev/null 2>&1; do
      tries=$((tries + 1)); [ $tries -lt 60 ] || die "rabbitmq-server did not start (see /var/log/rabbitmq)"
      sleep 1
    done
  fi
  if ! as_root rabbitmqctl -q list_users | awk '{print $1}' | grep -qx "$TEST_RABBIT_USER"; then
    as_root rabbitmqctl -q add_user "$TEST_RABBIT_USER" "$TEST_RABBIT_PASS" >/dev/null
    as_root rabbitmqctl -q set_user_tags "$TEST_RABBIT_USER" administrator >/dev/null
  fi
  rabbit_vhost "$TEST_RABBIT_VHOST"
}

start_postgresql() {
  local ver
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  [ -n "$ver" ] || die "postgresql is installed but has no cluster under /etc/postgresql"
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
    log "starting postgresql $ver"
    as_root pg_ctlcluster "$ver" main start
  fi
  local psql=(as_root runuser -u postgres -- psql -qAtX)
  if [ "$("${psql[@]}" -c "select 1 from pg_roles where rolname='$TEST_PG_USER'")" != 1 ]; then
    "${psql[@]}" -c "create role $TEST_PG_USER login password '$TEST_PG_PASS' createdb" >/dev/null
  fi
  if [ "$("${psql[@]}" -c "select 1 from pg_database where datname='$TEST_PG_DB'")" != 1 ]; then
    "${psql[@]}" -c "create database $TEST_PG_DB owner $TEST_PG_USER" >/dev/null
  fi
}

services() {
  apt_install rabbitmq-server postgresql systemd sqlite3 openssl tzdata python3-oslo.messaging python3-nova \
    python3-openstackclient python3-novaclient
  start_journald
  start_rabbitmq
  start_postgresql
  export NOVA_TEST_TRANSPORT_URL="rabbit://$TEST_RABBIT_USER:$TEST_RABBIT_PASS@127.0.0.1:5672/$TEST_RABBIT_VHOST"
  export NOVA_TEST_DATABASE_URL="postgresql://$TEST_PG_USER:$TEST_PG_PASS@127.0.0.1:5432/$TEST_PG_DB"
  export NOVA_TEST_RABBIT_VHOST="$TEST_RABBIT_VHOST"
  export NOVA_TEST_REQUIRE_SERVICES=1
}

publish() {
  # Native AOT: ILC compiles the daemon and every library it uses to one native executable,
  # linked by the platform toolchain (clang, zlib). No JIT and no runtime to load at start-up,
  # and only the code the daemon reaches is in memory (issue 13: RSS and start -> READY=1).
  apt_install clang zlib1g-dev
  log "publishing to dist/nova-compute (Native AOT)"
  rm -rf dist/nova-compute dist/nova-compute.dbg
  dotnet publish NovaCompute/NovaCompute.csproj -c Release -r linux-x64 -o dist/nova-compute --nologo -v quiet >/dev/null || {
    dotnet publish NovaCompute/NovaCompute.csproj -c Release -r linux-x64 -o dist/nova-compute --nologo -v quiet; die "publish failed"; }
  [ -x dist/nova-compute/nova-compute ] || die "publish produced no dist/nova-compute/nova-compute"
  # The native debug symbols (twice the executable's size) stay beside dist/nova-compute/ for a
  # debugger or a core dump; install copies only what runs. Stack traces do not need them.
  mv -f dist/nova-compute/nova-compute.dbg dist/nova-compute.dbg
}

cmd_test() {
  services
  log "building"
  dotnet build NovaCompute.sln -c Release --nologo -v quiet >/dev/null || {
    dotnet build NovaCompute.sln -c Release --nologo -v quiet; die "build failed"; }
  log "checking formatting (dotnet format --verify-no-changes)"
  dotnet format NovaCompute.sln --verify-no-changes --no-restore -v quiet || die "formatting differs: run 'dotnet format NovaCompute.sln'"
  publish
  export NOVA_COMPUTE_PUBLISHED="$here/dist/nova-compute/nova-compute"
  local results="$here/TestResults" trx
  rm -rf "$results"
  log "running tests"
  set +e
  dotnet test NovaCompute.Tests/NovaCompute.Tests.csproj -c Release --no-build --nologo \
    --logger "trx;LogFileName=results.trx" --results-directory "$results" "$@"
  local rc=$?
  set -e
  trx="$results/results.trx"
  if [ -f "$trx" ]; then
    local counters passed failed skipped total
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n1)
    total=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
    passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
    failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
    skipped=$(( total - passed - failed ))
    if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
  else
    echo "0 passed, 1 failed"
  fi
  return $rc
}

cmd_run() {
  apt_install rabbitmq-server
  start_rabbitmq
  rabbit_vhost "$DEV_RABBIT_VHOST"
  publish
  mkdir -p var
  [ -f var/nova-compute.conf ] || cat > var/nova-compute.conf <<EOF
# Development configuration written by ./build.sh run; edit freely, it is never overwritten.
[DEFAULT]
state_path = $here/var
compute_driver = host.HostDriver
debug = true
report_interval = 10
transport_url = rabbit://$TEST_RABBIT_USER:$TEST_RABBIT_PASS@127.0.0.1:5672/$DEV_RABBIT_VHOST

[database]
# Standalone (direct mode): records in a SQLite file of this daemon's own. Without this
# section the daemon runs in conductor mode and waits for a nova-conductor on transport_url.
connection = sqlite:///$here/var/nova.sqlite
EOF
  grep -q '^\[database\]' var/nova-compute.conf ||
    log "var/nova-compute.conf has no [database] connection: conductor mode (add '[database] connection = sqlite:///$here/var/nova.sqlite' to run standalone)"
  log "running nova-compute (Ctrl-C stops it gracefully)"
  exec dist/nova-compute/nova-compute --config-file var/nova-compute.conf "$@"
}

cmd_bench() {
  services
  # The RPC and start-up benchmarks measure the published daemon, as systemd would run it.
  publish
  export NOVA_COMPUTE_PUBLISHED="$here/dist/nova-compute/nova-compute"
  dotnet run -c Release --project NovaCompute.Bench/NovaCompute.Bench.csproj -- "$@"
}

# Installs the published build, the unit and a configuration that is never overwritten.
# With --root DIR everything is staged below DIR and nothing on this machine is touched.
cmd_install() {
  local root=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --root) root=${2:?--root needs a directory}; shift 2 ;;
      --root=*) root=${1#--root=}; shift ;;
      *) die "install: unknown argument $1" ;;
    esac
  done
  [ -n "$root" ] || [ "$(id -u)" -eq 0 ] || die "install: run as root (or stage with --root DIR)"
  [ -x dist/nova-compute/nova-compute ] || publish
  local lib="$root/usr/lib/nova-compute"
  log "installing into ${root:-/}"
  rm -rf "$lib"
  install -d -m 0755 "$lib" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/nova"
  cp -a dist/nova-compute/. "$lib/"
  ln -sfn /usr/lib/nova-compute/nova-compute "$root/usr/bin/nova-compute"
  install -m 0644 deploy/nova-compute.service "$root/lib/systemd/system/nova-compute.service"
  if [ -z "$root" ] && ! getent passwd nova >/dev/null; then
    log "creating system user nova"
    useradd --system --user-group --home-dir /var/lib/nova --no-create-home --shell /usr/sbin/nologin nova
  fi
  local group=nova
  [ -z "$root" ] || group=0
  if [ ! -e "$root/etc/nova/nova-compute.conf" ]; then
    install -m 0640 -g "$group" nova-compute.conf.sample "$root/etc/nova/nova-compute.conf"
  fi
  if [ ! -e "$root/etc/nova/nova.conf" ]; then
    cat > "$root/etc/nova/nova.conf" <<'EOF'
[DEFAULT]
# Settings shared by every nova service (transport_url, ...).

[database]
# Standalone (direct mode): this node keeps its service and compute node records in a
# SQLite database of its own. To join a nova control plane instead, delete this section:
# without [database] connection nova-compute runs in conductor mode and reaches every
# record through nova-conductor over transport_url, holding no database credentials.
connection = sqlite:////var/lib/nova/nova.sqlite
EOF
    chmod 0640 "$root/etc/nova/nova.conf"; chgrp "$group" "$root/etc/nova/nova.conf"
  fi
  if [ -z "$root" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
  log "installed: /usr/bin/nova-compute, nova-compute.service; configuration in /etc/nova (kept if present)"
}

cmd_uninstall() {
  local root=""
  [ "${1:-}" != "--root" ] || root=${2:?--root needs a directory}
  if [ -z "$root" ] && [ -d /run/systemd/system ]; then systemctl disable --now nova-compute.service 2>/dev/null || true; fi
  rm -rf "$root/usr/lib/nova-compute"
  rm -f "$root/usr/bin/nova-compute" "$root/lib/systemd/system/nova-compute.service"
  if [ -z "$root" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
  log "uninstalled (kept /etc/nova and /var/lib/nova)"
}

case "${1:-}" in
  install) shift; cmd_install "$@" ;;
  uninstall) shift; cmd_uninstall "$@" ;;
  run) shift; cmd_run "$@" ;;
  test) shift; cmd_test "$@" ;;
  publish) shift; publish ;;
  bench) shift; cmd_bench "$@" ;;
  services) shift; services; env | grep '^NOVA_TEST_' ;;
  *) echo "usage: ./build.sh run|test|publish|bench|install|uninstall|services" >&2; exit 2 ;;
esac
