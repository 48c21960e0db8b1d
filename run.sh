#!/usr/bin/env bash
# Builds and runs the platform on a fresh Debian 12 machine: installs what it needs, builds, and serves on
# http://127.0.0.1:8080 with the sample catalog loaded. Extra arguments go to `platform serve`.
set -euo pipefail
cd "$(dirname "$0")"
bash .ci/setup
dotnet build services/Cli -c Release -nologo -v q
exec dotnet services/Cli/bin/Release/net10.0/platform.dll serve --catalog tests/fixtures/products/catalog.jsonl "$@"
