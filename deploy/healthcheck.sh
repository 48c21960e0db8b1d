#!/usr/bin/env bash
# The images' HEALTHCHECK: GET http://127.0.0.1:PORT/PATH and succeed only on HTTP 200.
#
# The ASP.NET Core base image has neither curl nor wget. Rather than add a package (and its libraries) to every
# image for one request, bash's /dev/tcp sends it: bash is already in the aspnet and nvidia/cuda images. Docker's
# HEALTHCHECK --timeout bounds the whole check; the read below has its own bound so a silent server fails too.
#
# Usage: healthcheck [PORT] [PATH]   (defaults 8080 /health/live)
set -euo pipefail

port="${1:-8080}"
path="${2:-/health/live}"

exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
IFS= read -r -t 5 status <&3
exec 3<&-

# The status line is "HTTP/1.1 200 OK\r" (the reason phrase may be absent); anything else (503 from /health/ready, 404,
# 2000, garbage, nothing) is unhealthy.
if [[ "$status" =~ ^HTTP/1\.[01]\ 200([[:space:]]|$) ]]; then
  exit 0
fi
echo "unhealthy: ${status%$'\r'}" >&2
exit 1
