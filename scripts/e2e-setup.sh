#!/usr/bin/env bash
# Prepares the real-VS-Code tier: code-server 4.100.3 (VS Code 1.100.3 with a
# real Node extension host; newer ones need a newer Node) installed on demand
# into .e2e/ (ignored by git, outside package.json), then our .vsix built and
# installed into a fresh extensions dir. Works offline: only the npm registry
# and Debian's packages are used; @vscode/ripgrep's download is pre-seeded.
#
# Usage: scripts/e2e-setup.sh   (prints the paths the test needs as KEY=VALUE lines)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
e2e=$root/.e2e
version=4.100.3
say() { echo "e2e-setup: $*" >&2; }

need_pkgs=()
[ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
command -v rg >/dev/null || need_pkgs+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_pkgs+=(libkrb5-dev)
command -v make >/dev/null && command -v g++ >/dev/null || need_pkgs+=(build-essential)
command -v python3 >/dev/null || need_pkgs+=(python3)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages (${need_pkgs[*]}) and not root: install them with apt-get"
    exit 1
  fi
  say "installing Debian packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null 2>&1 || say "apt-get update reported errors; continuing"
  apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

cs=$e2e/code-server/node_modules/code-server
installed=$(node -p "try{require('$cs/package.json').version}catch{''}" 2>/dev/null || true)
if [ "$installed" != "$version" ]; then
  say "installing code-server $version into .e2e/ (takes 2-3 minutes, ~300 MB)"
  mkdir -p "$e2e/code-server" "$e2e/tmp"
  # @vscode/ripgrep's postinstall downloads a prebuilt rg unless its cache has
  # one: give it Debian's, packed the way the download would be.
  cache=$e2e/tmp/vscode-ripgrep-cache-1.15.11
  mkdir -p "$cache/pack"
  cp "$(command -v rg)" "$cache/pack/rg"
  tar -C "$cache/pack" -czf "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" rg
  [ -f "$e2e/code-server/package.json" ] || echo '{"name":"usernet-e2e","private":true}' > "$e2e/code-server/package.json"
  started=$(date +%s)
  (
    cd "$e2e/code-server"
    TMPDIR=$e2e/tmp npm_config_yes=true npm_config_unsafe_perm=true \
      npm install --no-audit --no-fund --loglevel=error "code-server@$version" >&2
  )
  say "code-server installed in $(( $(date +%s) - started )) s"
fi

if [ "${1:-}" = --server-only ]; then exit 0; fi

say "building and packaging the extension"
npm run --silent package >&2
ext=$e2e/ext
rm -rf "$ext"
mkdir -p "$ext" "$e2e/user"
node "$cs/out/node/entry.js" --install-extension "$root/usernet.vsix" --extensions-dir "$ext" --user-data-dir "$e2e/user" >&2

echo "CODE_SERVER=$cs/out/node/entry.js"
echo "EXTENSIONS_DIR=$ext"
