#!/usr/bin/env bash
# Builds and runs the platform on a fresh Debian 12 machine: installs what it needs, builds, and serves on
# http://127.0.0.1:8080; an empty data directory gets the bundled demo catalog (849 products). Extra arguments go
# to `platform serve` (--no-demo, --catalog FILE, --data DIR, ...).
set -euo pipefail
cd "$(dirname "$0")"
bash .ci/setup
dotnet build services/Cli -c Release -nologo -v q
exec dotnet services/Cli/bin/Release/net10.0/platform.dll serve "$@"
