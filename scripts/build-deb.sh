#!/usr/bin/env bash
# Build the Debian package gss-negotiate_<version>_<arch>.deb (and its -dbgsym .ddeb) with cargo-deb.
#
# Usage: scripts/build-deb.sh [--lintian]
#   Installs cargo-deb (pinned, `cargo install --locked`) into ~/.cargo/bin when it is missing — CI caches it;
#   builds the release library and command; stages the generated assets (man pages from `gss-negotiate man`,
#   the mech.d line with the library path, the pkg-config file) under <target>/release/deb-assets; runs
#   `cargo deb --no-build`. The target directory honours CARGO_TARGET_DIR. Prints the .deb path last.
#   --lintian   also run lintian on the package (scripts/install-deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0
run_lintian=0
[ "${1:-}" = --lintian ] && run_lintian=1

if ! cargo deb --version >/dev/null 2>&1; then
  echo "build-deb: installing cargo-deb $CARGO_DEB_VERSION (a few minutes, once)" >&2
  cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
fi
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
if [ "$multiarch" != x86_64-linux-gnu ]; then
  echo "build-deb: the asset paths in Cargo.toml are for x86_64-linux-gnu, not $multiarch" >&2
  exit 1
fi
target_dir=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')}
version=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"name":"gss-negotiate","version":"\([^"]*\)".*/\1/p')

cargo build --release --lib --bins >&2
stage=$target_dir/release/deb-assets
rm -rf "$stage"
mkdir -p "$stage/man"
# Reproducible page dates: the last commit's time.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)} \
  "$target_dir/release/gss-negotiate" man "$stage/man" >&2
gzip -9n "$stage"/man/*
lib=/usr/lib/$multiarch/gss-negotiate/libgss_negotiate.so
awk -v lib="$lib" '/^#/ || NF < 3 { print; next } { printf "%-23s %-25s %s\n", $1, $2, lib }' \
  mech.d/zz-gss-negotiate.conf >"$stage/zz-gss-negotiate.conf"
sed -e "s/@MULTIARCH@/$multiarch/" -e "s/@VERSION@/$version/" debian/gss-negotiate.pc.in >"$stage/gss-negotiate.pc"

cargo deb --no-build --dbgsym >&2
deb=$(ls -t "$target_dir"/debian/gss-negotiate_"$version"-*_*.deb | head -1)
if [ "$run_lintian" = 1 ]; then
  lintian --info --display-info "$deb" "${deb%/*}"/gss-negotiate-dbgsym_"$version"-*.ddeb >&2 || true
fi
echo "$deb"
