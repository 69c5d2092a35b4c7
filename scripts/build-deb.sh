#!/usr/bin/env bash
# Builds target/debian/nudged_VERSION_ARCH.deb with cargo-deb: one release build, then the
# man page, the bash/zsh/fish completions and the packaged units generated from that very
# binary into target/deb-assets/ (listed in Cargo.toml [package.metadata.deb]).
# Installs cargo-deb first if it is missing (scripts/install-test-deps.sh does the same).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! cargo deb --version >/dev/null 2>&1; then
  cargo install --locked cargo-deb@3.8.0
fi

# NUDGED_DEB_PROFILE=dev packages the debug binary `cargo test` already built: CI checks
# the packaging that way in seconds instead of a release build's many minutes. cargo-deb
# warns that it is meant for releases; the package you ship is built with the default.
profile="${NUDGED_DEB_PROFILE:-release}"
case "$profile" in
  release) cargo build --release --locked; bin=target/release/nudged ;;
  dev) cargo build --locked; bin=target/debug/nudged ;;
  *) echo "build-deb: NUDGED_DEB_PROFILE must be release or dev, not $profile" >&2; exit 2 ;;
esac
assets=target/deb-assets
rm -rf "$assets"
mkdir -p "$assets"
"$bin" man | gzip -9n >"$assets/nudged.1.gz"
"$bin" completions bash >"$assets/nudged.bash"
"$bin" completions zsh >"$assets/_nudged"
"$bin" completions fish >"$assets/nudged.fish"
# The units in systemd/ name /usr/local/bin (a hand install); the package's binary is /usr/bin.
for unit in nudged.service nudged-user.service; do
  sed 's|/usr/local/bin/nudged|/usr/bin/nudged|g' "systemd/$unit" >"$assets/$unit"
done

cargo deb --no-build --locked --profile "$profile" "$@"
