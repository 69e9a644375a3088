#!/usr/bin/env bash
# Installs Debian's chromium for the web UI's end-to-end test
# (cmd/lakevec/server/ui, TestE2E*), only if /usr/bin/chromium is missing.
# The test skips with a message when it is absent, so this script is
# optional for a run that does not need the browser test; as root on a
# Debian machine it makes the test run. Never downloads a browser build of
# its own: Debian's package only.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
	/usr/bin/chromium --version 2>/dev/null || true
	exit 0
fi
if ! command -v apt-get >/dev/null; then
	echo "ci-chromium: no apt-get here; the browser test will skip" >&2
	exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		sudo="sudo -n"
	else
		echo "ci-chromium: not root and no passwordless sudo; the browser test will skip" >&2
		exit 0
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# fonts-liberation: readable text in the screenshots (the test asserts on
# the DOM, not on pixels).
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
/usr/bin/chromium --version
