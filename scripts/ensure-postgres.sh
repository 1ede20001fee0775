#!/usr/bin/env bash
# The tests start a throwaway PostgreSQL server; install the server package when it is missing.
set -euo pipefail
if bindir=$(pg_config --bindir 2>/dev/null) && [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ]; then
  exit 0
fi
for dir in /usr/lib/postgresql/*/bin; do
  [ -x "$dir/initdb" ] && exit 0
done
echo "PostgreSQL server not found: installing Debian's postgresql package" >&2
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
