#!/bin/bash
# R's PostgreSQL driver (RPostgreSQL, on DBI), for notebooks that read the workspace database.
# Usage: install-r-postgresql.sh VERSION SHA256, as root.
# The offline base has Debian's r-cran-rpostgresql: nothing to do. The upstream
# datascience-notebook has R, IRkernel and DBI from conda-forge but no PostgreSQL driver, and
# conda-forge has no linux-aarch64 build of r-rpostgresql nor of r-rpostgres (neither feedstock
# builds that platform, and r-rpostgres's builds stop at R 4.4). So on that base: CRAN's source of the pinned
# version, checked against its sha256 (the Dockerfile's; conda-forge's recipe pins the same),
# built with the compilers R was configured with (conda-forge's r-base brings them, Docker Stacks
# adds gcc and gfortran for R) against Ubuntu's libpq, on either architecture. CRAN is out of
# reach on the development machines: this path runs on GitHub only, and the offline build never
# takes it (its R has Debian's RPostgreSQL, so the check below ends the script).
set -euo pipefail

version=${1:?usage: install-r-postgresql.sh VERSION SHA256}
sha256=${2:?usage: install-r-postgresql.sh VERSION SHA256}
if Rscript -e 'library(RPostgreSQL)' >/dev/null 2>&1; then
  echo "install-r-postgresql: R has RPostgreSQL already"
  exit 0
fi

bundle=/run/secrets/ca_bundle
[ -s "$bundle" ] || bundle=/etc/ssl/certs/ca-certificates.crt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
apt-get -o Acquire::https::CAInfo="$bundle" update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::https::CAInfo="$bundle" install -y -qq --no-install-recommends \
  libpq-dev libpq5
rm -rf /var/lib/apt/lists/*

tarball=RPostgreSQL_${version}.tar.gz
for url in "https://cloud.r-project.org/src/contrib/$tarball" \
  "https://cloud.r-project.org/src/contrib/Archive/RPostgreSQL/$tarball"; do
  wget --quiet --ca-certificate="$bundle" -O "$work/$tarball" "$url" && break
done
echo "$sha256  $work/$tarball" | sha256sum --check --strict -
R CMD INSTALL --no-docs --no-html "$work/$tarball"
library=$(Rscript -e 'cat(.libPaths()[1])')
fix-permissions "$library/RPostgreSQL"
Rscript -e 'library(RPostgreSQL); cat("install-r-postgresql: RPostgreSQL", format(packageVersion("RPostgreSQL")), "\n")'
