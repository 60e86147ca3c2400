#!/usr/bin/env bash
# npm always packs the root README.md, and the repository's README is not the package's (its
# relative links point at files the tarball leaves out). So `npm pack`/`npm publish` ship
# PACKAGE_README.md as README.md: prepack runs `in` (the repository's README kept aside in
# .README.repository.md), postpack runs `out` (put back). Between the two, README.md is the
# package's: do not edit it during a pack.
#   scripts/package-readme.sh in|out
set -euo pipefail
cd "$(dirname "$0")/.."
kept=.README.repository.md
case ${1:-} in
  in)
    [[ ! -e $kept ]] || { echo "package-readme.sh: $kept exists: an earlier pack stopped before postpack; run 'scripts/package-readme.sh out' first" >&2; exit 1; }
    mv README.md "$kept"
    cp PACKAGE_README.md README.md
    ;;
  out)
    [[ -e $kept ]] || exit 0
    mv "$kept" README.md
    ;;
  *) echo "usage: $0 in|out" >&2; exit 2 ;;
esac
