#!/usr/bin/env bash
# CI's check of the Debian package: build it (scripts/build-deb.sh), list it with
# `dpkg-deb -c` and require every file a user relies on, check that the maintainer scripts
# never start the service, and run the unpacked binary's --version.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/build-deb.sh >&2
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
deb="$(find target/debian -maxdepth 1 -name "nudged_${version}*.deb" -printf '%T@ %p\n' 2>/dev/null | sort -rn | head -n1 | cut -d' ' -f2-)"
if [[ -z "$deb" ]]; then
  echo "check-deb: no target/debian/nudged_${version}*.deb was built" >&2
  exit 1
fi

listing="$(dpkg-deb -c "$deb")"
fail=0
for path in \
  ./usr/bin/nudged \
  ./usr/lib/systemd/system/nudged.service \
  ./usr/lib/systemd/user/nudged.service \
  ./usr/lib/sysusers.d/nudged.conf \
  ./usr/lib/tmpfiles.d/nudged.conf \
  ./usr/share/man/man1/nudged.1.gz \
  ./usr/share/bash-completion/completions/nudged \
  ./usr/share/zsh/vendor-completions/_nudged \
  ./usr/share/fish/vendor_completions.d/nudged.fish \
  ./usr/share/doc/nudged/config.sample.toml \
  ./usr/share/doc/nudged/copyright; do
  if ! grep -q " ${path}\$" <<<"$listing"; then
    echo "check-deb: $deb lacks $path" >&2
    fail=1
  fi
done
if ! grep -Eq -- '^-rwxr-xr-x (root/root|0/0) .* \./usr/bin/nudged$' <<<"$listing"; then
  echo "check-deb: /usr/bin/nudged is not root-owned 0755" >&2
  fail=1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/root"
dpkg-deb -e "$deb" "$work/control"
# (The lines that tell the user what to run next are echo lines, not commands.)
if grep -Ev '^[[:space:]]*(#|echo )' "$work/control/postinst" |
  grep -Eq 'systemctl +(start|enable)|deb-systemd-(invoke +start|helper +enable)'; then
  echo "check-deb: postinst starts or enables the service before it is configured" >&2
  fail=1
fi
if ! grep -q '^ExecStart=/usr/bin/nudged ' "$work/root/usr/lib/systemd/system/nudged.service"; then
  echo "check-deb: the packaged unit does not run /usr/bin/nudged" >&2
  fail=1
fi
if ! grep -q '^Depends:.*ca-certificates' "$work/control/control"; then
  echo "check-deb: the package does not depend on ca-certificates (the trust store)" >&2
  fail=1
fi
# A binary with packed relocations does not load on an older glibc ("version
# GLIBC_ABI_DT_RELR not found"); the package must keep apt from installing it there.
if readelf -d "$work/root/usr/bin/nudged" | grep -q '(RELR)' &&
  ! grep -Eq '^Depends:.*libc6 \(>= 2\.(3[6-9]|[4-9][0-9])\)' "$work/control/control"; then
  echo "check-deb: the binary uses DT_RELR but the package does not depend on libc6 >= 2.36" >&2
  fail=1
fi
got="$("$work/root/usr/bin/nudged" --version)"
if [[ "$got" != "nudged $version" ]]; then
  echo "check-deb: the unpacked binary says '$got', not 'nudged $version'" >&2
  fail=1
fi
if ((fail)); then
  exit 1
fi
echo "check-deb: $deb ok ($(wc -l <<<"$listing") entries; $got)"
