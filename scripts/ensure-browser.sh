#!/usr/bin/env bash
# The workspace's browser test drives headless Chromium; Data Docs are served with local copies
# of bootstrap and jQuery. Install Debian's packages for them when missing (CJK fonts too).
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || missing+=(fonts-noto-cjk)
[ -d /usr/share/javascript/bootstrap4 ] || missing+=(libjs-bootstrap4)
[ -d /usr/share/javascript/jquery ] || missing+=(libjs-jquery)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]} for the workspace tests" >&2
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
