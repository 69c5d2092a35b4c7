#!/usr/bin/env bash
# Installs what nudged's tests run against: real Dovecot, a real SMTP sink (aiosmtpd),
# independent calendar parsers (Python icalendar, Mozilla ical.js, khal), headless Chromium,
# openssl, systemd-analyze, wrk, sqlite3, tmux (a terminal for `nudged init`), cargo-deb
# (the .deb that scripts/check-deb.sh checks), and Radicale, caldav and todoman (PyPI, in a
# virtualenv under target/). See shared TESTING.md for why each is there.
#
# Idempotent and quick when everything is present: each item is checked first, and apt is
# only touched (one `apt-get update`, one `apt-get install`) when something is missing.
# Debian 12; needs root only when something has to be installed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
js_dir="$repo_root/tests/js"

# Each entry: "debian-package|shell check that succeeds when it is already usable".
# The checks look for the thing the tests actually call, not just the package name, so a
# half-removed package is reinstalled.
checks=(
  "dovecot-core|command -v dovecot && command -v doveadm"
  "dovecot-imapd|test -x /usr/lib/dovecot/imap && test -x /usr/lib/dovecot/imap-login"
  "python3-aiosmtpd|/usr/bin/python3 -c 'import aiosmtpd'"
  "python3-icalendar|/usr/bin/python3 -c 'import icalendar'"
  "khal|command -v khal"
  "chromium|command -v chromium"
  "openssl|command -v openssl"
  "systemd|command -v systemd-analyze"
  "wrk|command -v wrk"
  "sqlite3|command -v sqlite3"
  "npm|command -v npm && command -v node"
  "tmux|command -v tmux"
  "dpkg|command -v dpkg-deb"
  "python3-venv|/usr/bin/python3 -m venv --help"
)

missing=()
for entry in "${checks[@]}"; do
  pkg="${entry%%|*}"
  check="${entry#*|}"
  if ! bash -c "$check" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "install-test-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-test-deps: run this script as root (or: sudo apt-get install -y --no-install-recommends ${missing[*]})" >&2
    exit 1
  fi

  # Installing dovecot would start the system-wide dovecot service, which takes ports 143/993
  # and, in a container without systemd, makes postinst fail. Tests start their own dovecot
  # per test, so deny service starts while apt runs. Keep an existing policy-rc.d as it is.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# Written by nudged scripts/install-test-deps.sh; removed when it ends.\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
  fi
  cleanup_policy() { if ((own_policy)); then rm -f "$policy"; fi; }
  trap cleanup_policy EXIT

  echo "install-test-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"

  # A system dovecot that did get started (e.g. on a host with systemd) would only get in
  # the way of nothing, since tests use their own ports, but it wastes memory; stop it.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet dovecot 2>/dev/null; then
    systemctl disable --now dovecot >/dev/null 2>&1 || true
  fi

  # Re-check: a package that installed but does not provide what tests call is an error now,
  # not a confusing test failure later.
  for entry in "${checks[@]}"; do
    pkg="${entry%%|*}"
    check="${entry#*|}"
    if ! bash -c "$check" >/dev/null 2>&1; then
      echo "install-test-deps: $pkg installed but check failed: $check" >&2
      exit 1
    fi
  done
fi

# Mozilla's ical.js, pinned in tests/js/package.json + package-lock.json. `npm ci` installs
# exactly the locked version; skip it when that version is already there.
want_version="$(sed -n 's/.*"ical.js": *"\([^"]*\)".*/\1/p' "$js_dir/package.json" | head -n1)"
have_version=""
if [[ -f "$js_dir/node_modules/ical.js/package.json" ]]; then
  have_version="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$js_dir/node_modules/ical.js/package.json" | head -n1)"
fi
if [[ -z "$want_version" ]]; then
  echo "install-test-deps: no ical.js version pinned in $js_dir/package.json" >&2
  exit 1
fi
if [[ "$have_version" != "$want_version" ]]; then
  echo "install-test-deps: npm ci in tests/js (ical.js $want_version)" >&2
  (cd "$js_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

# cargo-deb builds the .deb that scripts/check-deb.sh checks; pinned to a release that
# builds with the project's Rust (1.95). Installed only when missing.
cargo_deb_version="3.8.0"
if ! cargo deb --version 2>/dev/null | grep -q "$cargo_deb_version"; then
  echo "install-test-deps: cargo install cargo-deb $cargo_deb_version" >&2
  cargo install --locked "cargo-deb@$cargo_deb_version"
fi

# Radicale (CalDAV/CardDAV server), caldav (the "phone" in tests/py/phone.py) and todoman
# (a vdir task client), pinned, in a virtualenv under target/ so the system Python is left
# alone. Reinstalled only when a pinned version is missing.
py_env="$repo_root/target/pyenv"
py_pins=("radicale==3.9.0" "caldav==3.6.0" "todoman==4.7.0")
py_ok=1
if [[ ! -x "$py_env/bin/python" ]]; then
  py_ok=0
else
  for pin in "${py_pins[@]}"; do
    name="${pin%%==*}"
    version="${pin#*==}"
    have="$("$py_env/bin/python" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p')"
    if [[ "$have" != "$version" ]]; then py_ok=0; fi
  done
fi
if ((py_ok == 0)); then
  echo "install-test-deps: Python test tools into $py_env (${py_pins[*]})" >&2
  if ! /usr/bin/python3 -m venv --help >/dev/null 2>&1; then
    echo "install-test-deps: python3-venv is missing (apt-get install -y python3-venv)" >&2
    exit 1
  fi
  /usr/bin/python3 -m venv "$py_env"
  "$py_env/bin/python" -m pip install --quiet --disable-pip-version-check "${py_pins[@]}"
fi

# dnsmasq (dnsmasq-base: the program alone, no service) serves SRV records on loopback for
# the test of `nudged init`'s DNS SRV discovery (RFC 6186, tests/it/init_srv.rs).
if ! test -x /usr/sbin/dnsmasq; then
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "install-test-deps: dnsmasq is missing; run this script as root (or: sudo apt-get install -y --no-install-recommends dnsmasq-base)" >&2
    exit 1
  fi
  echo "install-test-deps: installing dnsmasq-base" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dnsmasq-base
fi

echo "install-test-deps: all test dependencies present" >&2
