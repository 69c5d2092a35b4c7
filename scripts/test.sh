#!/usr/bin/env bash
# The whole test suite: installs what the tests run against (Dovecot, aiosmtpd, calendar
# parsers, Chromium, …; see scripts/install-test-deps.sh), then runs every test.
# Tests that need a server start their own on loopback and fail loudly if they cannot.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-test-deps.sh
cargo test --locked "$@"
