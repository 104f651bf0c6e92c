#!/usr/bin/env bash
# Runs helm for the chart's Nx targets with its state in a temporary directory, never in $HOME.
#   helm.sh lint     helm lint --strict with every ci/ scenario file
#   helm.sh package  helm package into dist/charts/obip
set -euo pipefail
chart="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$chart/../.." && pwd)"
helm="$root/.tools/bin/helm"
[ -x "$helm" ] || helm="$(command -v helm)" || { echo "helm not found: run scripts/setup.sh" >&2; exit 1; }
state="$(mktemp -d)"
trap 'rm -rf "$state"' EXIT
export HELM_CACHE_HOME="$state/cache" HELM_CONFIG_HOME="$state/config" HELM_DATA_HOME="$state/data"
case "${1:-}" in
  lint)
    for values in "$chart"/ci/*.yaml; do
      echo "helm lint --strict -f ci/$(basename "$values")"
      "$helm" lint --strict "$chart" -f "$values"
    done
    ;;
  package)
    out="$root/dist/charts/obip"
    rm -rf "$out" && mkdir -p "$out"
    "$helm" package "$chart" --destination "$out"
    ;;
  *)
    echo "usage: $0 lint|package" >&2
    exit 2
    ;;
esac
