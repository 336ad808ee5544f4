#!/usr/bin/env bash
# make release: static gateway binaries for linux/amd64 and linux/arm64 with
# the version stamped in, their SHA-256 checksums, and the files the
# container image (Dockerfile) adds to them, in $DIST (default dist/).
set -euo pipefail
cd "$(dirname "$0")/.."
DIST="${DIST:-dist}"
VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
COMMIT="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then COMMIT="$COMMIT (with uncommitted changes)"; fi
# The commit's time, not the build's: the same commit builds the same binary.
DATE="$(git log -1 --format=%cI 2>/dev/null || echo unknown)"
PLATFORMS="${PLATFORMS:-linux/amd64 linux/arm64}"

rm -rf "$DIST"
mkdir -p "$DIST"
for platform in $PLATFORMS; do
  os="${platform%/*}" arch="${platform#*/}"
  out="$DIST/cartgateway-$os-$arch"
  echo "== $out ($VERSION)"
  # CGO_ENABLED=0: the SQLite driver is pure Go (ADR 1), so the binary is
  # static and runs on any Linux of that architecture, or FROM scratch.
  CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" go build -trimpath -buildvcs=true \
    -ldflags "-s -w -X 'main.version=$VERSION' -X 'main.commit=$COMMIT' -X 'main.date=$DATE'" \
    -o "$out" ./cmd/cartgateway
done
(cd "$DIST" && sha256sum cartgateway-* > SHA256SUMS)
echo "$VERSION" > "$DIST/VERSION"

# What the image holds besides the binary: a non-root user, the CA
# certificates (for PostgreSQL over verified TLS), and the data directory.
rootfs="$DIST/rootfs"
mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/var/lib/cartgateway" "$rootfs/tmp"
echo "cartgateway:x:65532:65532:CartGateway:/var/lib/cartgateway:/sbin/nologin" > "$rootfs/etc/passwd"
echo "cartgateway:x:65532:" > "$rootfs/etc/group"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
chmod 0700 "$rootfs/var/lib/cartgateway"
chmod 1777 "$rootfs/tmp"
# A tar keeps owners, and the Dockerfile's ADD unpacks it as it is: the data
# directory must belong to the image's user (COPY --chown would leave the
# directory itself to root).
tar -C "$rootfs" --numeric-owner --owner=0 --group=0 --exclude=var/lib/cartgateway -cf "$DIST/rootfs.tar" etc tmp var/lib
tar -C "$rootfs" --numeric-owner --owner=65532 --group=65532 --no-recursion -rf "$DIST/rootfs.tar" var/lib/cartgateway
rm -rf "$rootfs"
cat "$DIST/SHA256SUMS"
