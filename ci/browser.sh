#!/usr/bin/env bash
# Installs what the browser tests (lrs/tests/browser*.rs, lrs/tests/common/browser.rs) drive:
# Debian's headless Chromium, its WebDriver (chromedriver) and a Japanese font, so screenshots
# show the pages as Japanese users see them. Idempotent; prints nothing on success.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
fc-list :lang=ja 2>/dev/null | grep -q . || need+=(fonts-ipafont-gothic)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi
