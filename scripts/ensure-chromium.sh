#!/usr/bin/env bash
# Debian's chromium (driven by Playwright from PyPI with executable_path, never `playwright install`)
# and a CJK font, so browser tests and screenshots render 中文. Idempotent; needs root or sudo.
set -euo pipefail
want=()
[ -x /usr/bin/chromium ] || want+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || want+=(fonts-noto-cjk)
if [ ${#want[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${want[@]}"
fi
/usr/bin/chromium --version >/dev/null
