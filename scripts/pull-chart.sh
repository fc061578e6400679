#!/usr/bin/env bash
# Unpack the Zero to JupyterHub chart that chart-values/chart.yaml pins into .chart/ (helm pull):
# the chart's own hub configuration for the chart-config tier (make test-chart), the release's
# gate and the chart workflow. The Makefile points Z2JH_CHART_DIR at .chart/<name> when it exists.
# Needs helm and the chart's repository (GitHub's runners have both; a machine without either
# runs the tier's tests as skips, saying so).
set -euo pipefail
cd "$(dirname "$0")/.."

field() { sed -n "s/^$1: *//p" chart-values/chart.yaml | tr -d '"'; }
repository=$(field repository)
name=$(field name)
version=$(field version)
if ! command -v helm >/dev/null 2>&1; then
  echo "helm is not installed: https://helm.sh/docs/intro/install/ (needed to pull chart $name $version)" >&2
  exit 1
fi
rm -rf .chart
mkdir -p .chart
helm pull "$name" --repo "$repository" --version "$version" --untar --untardir .chart
echo "Z2JH_CHART_DIR=$PWD/.chart/$name"
