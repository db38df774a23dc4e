#!/usr/bin/env bash
# Runs a command on the project's Node major, the one the image runs (the Dockerfile's
# NODE_VERSION): this machine's node when it is that major, else the newest release of it that
# scripts/setup.sh installed into .cache/node-v<version>/. npm runs every script in a fresh shell
# on npm's own node, so each script that runs node goes through here:
#   bash scripts/with-node.sh jest test/unit
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

major=$(sed -n 's/^ARG NODE_VERSION=\([0-9][0-9]*\)$/\1/p' "$root/Dockerfile")
[[ -n $major ]] || { echo "with-node: no 'ARG NODE_VERSION=<major>' line in the Dockerfile" >&2; exit 1; }

if [[ $(node --version 2>/dev/null) != "v$major."* ]]; then
  # The trailing slash follows .cache when it is a symlink (worktrees share one); a fresh clone has
  # no .cache yet.
  dir=$(find "$root/.cache/" -maxdepth 1 -type d -name "node-v$major.*" 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -z $dir || ! -x $dir/bin/node ]]; then
    echo "with-node: this machine's node is $(node --version 2>/dev/null || echo missing), the project's is $major.x: run 'npm run setup' to install it" >&2
    exit 1
  fi
  export PATH="$dir/bin:$PATH"
  # node-gyp compiles against these headers instead of downloading them from nodejs.org (or taking
  # a nodedir from ~/.npmrc that belongs to the machine's node).
  export npm_config_nodedir="$dir"
fi
exec "$@"
