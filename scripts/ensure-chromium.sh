#!/usr/bin/env bash
# The browser tests (tests/e2e) drive Debian's headless Chromium, with Noto CJK fonts so Chinese
# renders. Install them when missing (never `playwright install`: it downloads its own browser).
# Idempotent: does nothing when both are present. Needs root (or sudo) to install.
set -euo pipefail

# WenQuanYi Zen Hei has TrueType outlines, so the monthly PDF report can embed it (Noto CJK's cannot be).
have_fonts() { ls /usr/share/fonts/opentype/noto/*CJK* >/dev/null 2>&1 && [ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]; }

if [ -x /usr/bin/chromium ] && have_fonts; then
  exit 0
fi
echo "Chromium or the CJK fonts are missing; installing Debian's chromium, fonts-noto-cjk and fonts-wqy-zenhei" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root or sudo to install chromium" >&2; exit 1; }
  SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk fonts-wqy-zenhei >/dev/null
[ -x /usr/bin/chromium ] || { echo "chromium did not install" >&2; exit 1; }
/usr/bin/chromium --version >&2
