#!/usr/bin/env bash
# Prepares a checkout for development and tests:
#   1. the image's Node major, from the npm registry into .cache/ when this machine's node is another,
#   2. the Debian packages librdkafka is compiled against (plus java and mvn for the test broker),
#   3. node_modules, with @confluentinc/kafka-javascript built against those system libraries,
#   4. the classpath of the Kafka broker the test harness runs (jars from Maven Central),
#   4b. the classpath of S3Proxy, the S3 server the harness runs for the S3 lake (same way),
#   5. dist/, when package.json has a build script,
#   6. pyarrow and Polars in a venv under .cache/pyenv, which tests read the lake back with,
#   7. confluent-kafka and msgpack in the same venv, for the benchmark's Python peer,
#   8. Prometheus' promtool in .cache/, built with Go from the module proxy, for the alert rule tests.
# Every step checks first whether it is already done, so a second run takes about a second.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly APT_PACKAGES=(build-essential python3 libssl-dev libsasl2-dev libzstd-dev liblz4-dev zlib1g-dev libcurl4-openssl-dev)
readonly POM=test/harness/pom.xml
readonly CLASSPATH_FILE=.cache/kafka-classpath.txt
# The same major as the image (scripts/with-node.sh reads it there too).
NODE_MAJOR=$(sed -n 's/^ARG NODE_VERSION=\([0-9][0-9]*\)$/\1/p' Dockerfile)
readonly NODE_MAJOR

log() { printf '[setup] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Tests run on the image's Node major (test/unit/deploy/dockerfile.test.ts checks it). When this
# machine's node is another major, the newest release of the right one comes from the npm registry's
# node-linux-<arch> package (nodejs.org may be out of reach); its tarball also holds the headers the
# Kafka addon is compiled against. scripts/with-node.sh finds it in .cache/node-v<version>/. Once one
# is there nothing is downloaded again: to move to a newer release, delete it and run setup.
ensure_node() {
  [[ -n $NODE_MAJOR ]] || die "no 'ARG NODE_VERSION=<major>' line in the Dockerfile"
  local current
  current=$(bash scripts/with-node.sh node --version 2>/dev/null || true)
  if [[ $current == "v$NODE_MAJOR."* ]]; then
    # Said by the run that goes on, not by the one that starts again under with-node.sh.
    [[ $(node --version) != "$current" ]] || log "node $current: ok ($(command -v node))"
    return
  fi
  local arch
  case $(uname -m) in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) die "no node-linux package for $(uname -m): install Node $NODE_MAJOR yourself" ;;
  esac
  local package=node-linux-$arch tmp tarball version
  log "node: this machine's is $(node --version), installing the newest $NODE_MAJOR.x from the npm registry ($package)"
  mkdir -p .cache
  # A name that .cache/node-v* does not match: with-node.sh never picks a half-extracted copy.
  tmp=$(mktemp -d .cache/.node-install.XXXXXX)
  trap 'rm -rf -- "$tmp"' EXIT
  # npm pack takes the newest version in the range, checks the tarball's integrity and prints its name.
  tarball=$(npm pack --silent --pack-destination "$tmp" "$package@$NODE_MAJOR") || die "npm pack $package@$NODE_MAJOR failed"
  version=${tarball#"$package-"}
  version=${version%.tgz}
  mkdir "$tmp/node"
  tar -xzf "$tmp/$tarball" -C "$tmp/node" --strip-components=1
  [[ $("$tmp/node/bin/node" --version) == "v$version" && -f $tmp/node/include/node/node.h ]] ||
    die "$tarball holds no working node $version with headers"
  # -T: when another checkout sharing .cache installed the same version meanwhile, keep theirs.
  mv -T "$tmp/node" ".cache/node-v$version" 2>/dev/null || log "node: .cache/node-v$version appeared meanwhile, kept"
  rm -rf -- "$tmp"
  trap - EXIT
  current=$(bash scripts/with-node.sh node --version) || die "scripts/with-node.sh does not find the Node just installed"
  [[ $current == "v$NODE_MAJOR."* ]] || die "scripts/with-node.sh runs node $current, not $NODE_MAJOR.x"
  log "node $current: installed in .cache/node-v$version"
}

# Prints one missing package per line. Java and Maven are checked as commands, not packages:
# a JDK installed some other way (sdkman, a tarball) is just as good.
missing_packages() {
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) == installed ]] || echo "$pkg"
  done
  command -v java >/dev/null || echo openjdk-17-jre-headless
  command -v mvn >/dev/null || echo maven
}

ensure_system_packages() {
  if ! command -v dpkg-query >/dev/null; then
    log "not a Debian-like system: make sure these are installed: ${APT_PACKAGES[*]} java mvn"
    return
  fi
  local missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    log "system packages: ok"
    return
  fi
  local sudo=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      log "missing system packages: ${missing[*]}"
      log "install them with:"
      printf '  sudo apt-get update && sudo apt-get install -y %s\n' "${missing[*]}" >&2
      exit 1
    fi
  fi
  log "installing system packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# npm writes node_modules/.package-lock.json at the end of every install: if it is at least as new
# as package-lock.json, node_modules matches the lock file and the slow native build can be skipped.
ensure_node_modules() {
  local marker=node_modules/.package-lock.json
  [[ -f package-lock.json ]] || die "package-lock.json is missing: run 'npm install' once to create it"
  # The addon must also load: built for another Node (another ABI) it is built again.
  if [[ -f $marker && ! package-lock.json -nt $marker ]] && node -e "require('@confluentinc/kafka-javascript')" 2>/dev/null; then
    log "node_modules: up to date"
  else
    # Builds the bundled librdkafka against the system's OpenSSL, SASL, zstd, lz4 and curl
    # instead of downloading a prebuilt binary (which needs GitHub access).
    export CKJS_LINKING=dynamic
    # Where GitHub is reachable node-pre-gyp would fetch the statically linked prebuilt instead.
    export npm_config_build_from_source=@confluentinc/kafka-javascript
    log "node_modules: npm ci (compiles librdkafka, a few minutes)"
    npm ci --no-audit --no-fund
  fi
  node -e "require('@confluentinc/kafka-javascript')" ||
    die "@confluentinc/kafka-javascript does not load; remove node_modules and run this again"
}

ensure_broker_classpath() {
  if [[ -s $CLASSPATH_FILE && ! $POM -nt $CLASSPATH_FILE ]]; then
    log "broker classpath: up to date"
    return
  fi
  log "broker classpath: resolving Kafka jars with Maven"
  mkdir -p "$(dirname "$CLASSPATH_FILE")"
  # Maven's output goes to a file: even with -q it prints stray colour codes. The classpath goes to
  # a temp file first, so an interrupted resolve never leaves a truncated one that looks up to date.
  if ! mvn -B -q -f "$POM" dependency:build-classpath -Dmdep.outputFile="$PWD/$CLASSPATH_FILE.tmp" >.cache/mvn.log 2>&1; then
    cat .cache/mvn.log >&2
    die "maven could not resolve the Kafka jars (output above, also in .cache/mvn.log)"
  fi
  mv "$CLASSPATH_FILE.tmp" "$CLASSPATH_FILE"
}

# The same for S3Proxy (test/harness/s3-server.ts). Its pom imports three BOMs; see the pom for why.
ensure_s3proxy_classpath() {
  local pom=test/harness/s3proxy/pom.xml classpath=.cache/s3proxy-classpath.txt
  if [[ -s $classpath && ! $pom -nt $classpath ]]; then
    log "s3proxy classpath: up to date"
    return
  fi
  log "s3proxy classpath: resolving S3Proxy jars with Maven"
  mkdir -p "$(dirname "$classpath")"
  if ! mvn -B -q -f "$pom" dependency:build-classpath -Dmdep.outputFile="$PWD/$classpath.tmp" >.cache/mvn-s3proxy.log 2>&1; then
    cat .cache/mvn-s3proxy.log >&2
    die "maven could not resolve the S3Proxy jars (output above, also in .cache/mvn-s3proxy.log)"
  fi
  mv "$classpath.tmp" "$classpath"
}

# Tests run the TypeScript through ts-jest, which does not type-check (isolatedModules): this build
# is where CI catches type errors, and dist/ serves tests that start the daemon as a process.
# The stamp skips tsc when nothing it compiles changed since the last successful build.
# SETUP_SKIP_BUILD=1 skips it, e.g. to run the harness while src/ is half-edited.
ensure_build() {
  local stamp=.cache/build.stamp
  if [[ -n ${SETUP_SKIP_BUILD:-} ]]; then
    log "build: skipped (SETUP_SKIP_BUILD is set)"
  elif [[ -z $(node -p "require('./package.json').scripts?.build ?? ''") ]]; then
    log "build: no build script, skipped"
  elif [[ -f $stamp && -d dist && -z $(find src tsconfig.json tsconfig.build.json package.json -newer "$stamp" -print -quit) ]]; then
    log "build: up to date"
  else
    log "build: npm run build"
    npm run --silent build
    mkdir -p .cache && touch "$stamp"
  fi
}

# The seed's users read the lake with Polars and pyarrow; tests do too, from a venv of their own so
# the system Python stays untouched. Pinned in test/harness/python-readers.txt.
ensure_python_readers() {
  local venv=.cache/pyenv requirements=test/harness/python-readers.txt stamp=.cache/pyenv/.installed
  if [[ -f $stamp && ! $requirements -nt $stamp ]] && "$venv/bin/python" -c 'import pyarrow, polars' 2>/dev/null; then
    log "python readers: up to date"
    return
  fi
  log "python readers: installing pyarrow and polars into $venv"
  mkdir -p .cache
  [[ -x $venv/bin/python ]] || python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" || die "pip could not install $requirements"
  touch "$stamp"
}

# The benchmark's Python peer (test/bench/python-peer.py) runs the seed's stack: the same venv, plus
# the seed's Kafka client and decoder. Pinned in test/bench/python-peer.txt.
ensure_python_peer() {
  local venv=.cache/pyenv requirements=test/bench/python-peer.txt stamp=.cache/pyenv/.peer-installed
  if [[ -f $stamp && ! $requirements -nt $stamp ]] && "$venv/bin/python" -c 'import confluent_kafka, msgpack' 2>/dev/null; then
    log "python peer: up to date"
    return
  fi
  log "python peer: installing confluent-kafka and msgpack into $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" || die "pip could not install $requirements"
  touch "$stamp"
}

# The alert rules are tested with Prometheus' own promtool (test/unit/deploy/promtool.test.ts).
# Built once from the Go module proxy (about 3 minutes on 2 cores); without Go it is skipped and so
# are those tests. The version must match PROMTOOL_VERSION in that test.
ensure_promtool() {
  local version=v0.316.0
  local dir=.cache/promtool-$version
  if [[ -x $dir/promtool ]]; then
    log "promtool $version: up to date"
    return
  fi
  if ! command -v go >/dev/null; then
    log "promtool: no Go toolchain, skipped (the promtool rule tests are skipped too)"
    return
  fi
  log "promtool $version: building with go install (about 3 minutes)"
  mkdir -p "$dir.tmp"
  GOBIN="$PWD/$dir.tmp" go install "github.com/prometheus/prometheus/cmd/promtool@$version" ||
    die "go install of promtool $version failed"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

ensure_node
# Every later step, the addon's compile above all, runs on that Node: start again under with-node.sh.
# Once only: ensure_node has checked that with-node.sh runs the right major.
if [[ $(node --version) != "v$NODE_MAJOR."* ]]; then
  exec bash scripts/with-node.sh bash scripts/setup.sh "$@"
fi
ensure_system_packages
ensure_node_modules
ensure_broker_classpath
ensure_s3proxy_classpath
ensure_build
ensure_python_readers
ensure_python_peer
ensure_promtool
log "done"
