#!/usr/bin/env bash
# Fetches the six npm packages the training data and the demo catalog are built from, checks each tarball
# against the sha512 integrity pinned below, and unpacks it. Idempotent: what is already there is kept.
#
#   bash models/data/fetch.sh
#
# Cache folder: $PLATFORM_DATA_CACHE, or <repo>/.cache/emoji-data (git-ignored). Layout:
#   <cache>/tarballs/<file>.tgz           the packed tarballs, as npm served them
#   <cache>/<name>/                       each package unpacked (the tarball's package/ folder)
# Licences and what we use from each: models/data/LICENSES.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${PLATFORM_DATA_CACHE:-$REPO/.cache/emoji-data}"

# spec | folder under the cache | tarball file name npm pack writes | dist.integrity from the registry
PACKAGES=(
  "@lobehub/fluent-emoji-3d@1.1.0|fluent-emoji-3d|lobehub-fluent-emoji-3d-1.1.0.tgz|sha512-Wlq2lVStTnr8BDpIJ0pEnTKO4LuDxxqTEhTvRtD1DLRF0me7ogeRQjKoehDHXuVJ2Qaecgl5wRBv60lUAG3h7g=="
  "@lobehub/fluent-emoji-flat@1.1.0|fluent-emoji-flat|lobehub-fluent-emoji-flat-1.1.0.tgz|sha512-lPYCg8+N56MIj+iOgeBeH6AF0tneXxJCvgi41rOTjAWpA5rU2WUcmU1fiIXouEe8GrSTarWCYLY2ML+rdLRHsg=="
  "@lobehub/fluent-emoji-modern@1.0.0|fluent-emoji-modern|lobehub-fluent-emoji-modern-1.0.0.tgz|sha512-YdZEgLC/vh29uDEl440q3W2vN50FdUFarQoKUHH9Clzx61/wW6mImLJywVBMKQPa3+GL59j3NvOlTLhH4rxleA=="
  "emoji-datasource-google@16.0.0|emoji-datasource-google|emoji-datasource-google-16.0.0.tgz|sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A=="
  "emoji-datasource-twitter@16.0.0|emoji-datasource-twitter|emoji-datasource-twitter-16.0.0.tgz|sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ=="
  "emojibase-data@17.0.0|emojibase-data|emojibase-data-17.0.0.tgz|sha512-Yvgb5AWoHViHV/gq1qr5ZAarcBip+B27/ZLRsUJkbgAEaLlZ/fof9g882LTpmEpyhBNEC0m2SEmItljHsTygjA=="
)

for tool in npm tar openssl base64; do
  command -v "$tool" >/dev/null || { echo "fetch.sh: '$tool' is required" >&2; exit 1; }
done

integrity_of() {
  printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 | tr -d '\n')"
}

mkdir -p "$CACHE/tarballs"

for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r spec folder file integrity <<<"$entry"
  tarball="$CACHE/tarballs/$file"
  target="$CACHE/$folder"
  marker="$target/.fetched"

  if [[ -f "$marker" && "$(cat "$marker")" == "$spec $integrity" ]]; then
    echo "present   $spec -> $target"
    continue
  fi

  if [[ -f "$tarball" && "$(integrity_of "$tarball")" != "$integrity" ]]; then
    echo "stale     $tarball (integrity differs), fetching again"
    rm -f "$tarball"
  fi
  if [[ ! -f "$tarball" ]]; then
    echo "fetching  $spec"
    (cd "$CACHE/tarballs" && npm pack --silent --pack-destination . "$spec" >/dev/null)
    [[ -f "$tarball" ]] || { echo "fetch.sh: npm pack did not write $tarball" >&2; exit 1; }
  fi

  actual="$(integrity_of "$tarball")"
  if [[ "$actual" != "$integrity" ]]; then
    echo "fetch.sh: integrity mismatch for $spec" >&2
    echo "  expected $integrity" >&2
    echo "  got      $actual" >&2
    rm -f "$tarball"
    exit 1
  fi
  echo "verified  $file"

  staging="$target.partial"
  rm -rf "$staging" "$target"
  mkdir -p "$staging"
  tar -xzf "$tarball" -C "$staging" --strip-components=1 --no-same-owner
  printf '%s %s' "$spec" "$integrity" >"$staging/.fetched"
  mv "$staging" "$target"
  echo "unpacked  $spec -> $target"
done

echo
echo "cache:    $CACHE"
echo "tarballs: $CACHE/tarballs"
for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r spec folder _ _ <<<"$entry"
  echo "  $spec: $CACHE/$folder"
done
