#!/usr/bin/env bash
# The topology test starts its own Redis (the Celery broker); install Debian's server when missing.
set -euo pipefail
command -v redis-server >/dev/null && exit 0
echo "redis-server not found: installing Debian's redis-server package" >&2
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
