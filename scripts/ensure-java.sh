#!/usr/bin/env bash
# PySpark (the distributed engine) needs a Java runtime, 17 or newer.
set -euo pipefail
if command -v java >/dev/null 2>&1; then exit 0; fi
echo "kefu: installing a Java runtime for PySpark" >&2
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null
