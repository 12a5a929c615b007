#!/usr/bin/env bash
# Build a local stand-in for the ocrd/core base image with buildah, without a
# Docker engine or image registry: debootstrap a minimal Debian into a scratch
# container, pip-install ocrd (from PyPI) into a venv there and set up the
# environment the way the real ocrd/core image does:
#   XDG_DATA_HOME=/usr/local/share, XDG_CONFIG_HOME=/usr/local/share/ocrd-resources,
#   /models (real directory, writable by any user) with
#   /usr/local/share/ocrd-resources -> /models, WORKDIR /data.
# The result is committed as ocrd/core (localhost/ocrd/core:latest) and
# docker.io/ocrd/core:latest, so `FROM ocrd/core` resolves to it offline.
#
# Usage: docker/build-base.sh   (as root; needs buildah and debootstrap)
# Environment:
#   DEBIAN_SUITE      Debian release to bootstrap (default: bookworm)
#   DEBIAN_MIRROR     Debian mirror URL (default: the first Debian URI of this
#                     machine's apt sources)
#   OCRD_VERSION      pip requirement for ocrd (default: ocrd>=3.13)
#   BASE_TAG          image name (default: ocrd/core)
#   STORAGE_DRIVER    buildah storage driver (default: buildah's own; use vfs
#                     where overlay does not work)
#   HOST_CA_BUNDLE    PEM bundle whose certificates missing from Debian's
#                     ca-certificates get added to the image's trust store, so
#                     pip/apt work behind a TLS-intercepting proxy (default:
#                     /etc/ssl/certs/ca-certificates.crt; set empty to skip)
set -euo pipefail

DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
OCRD_VERSION=${OCRD_VERSION:-ocrd>=3.13}
BASE_TAG=${BASE_TAG:-ocrd/core}
BUILDAH=(buildah ${STORAGE_DRIVER:+--storage-driver "$STORAGE_DRIVER"})
RUN=("${BUILDAH[@]}" run --isolation chroot)

log() { echo "[build-base] $*" >&2; }

# the Debian mirror this machine's apt already uses (one-line or deb822 sources)
apt_mirror() {
    local f uri
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { print $i; exit } }' "$f" \
              | grep -E '/debian/?$' | head -n1 || true)
        [ -n "$uri" ] && { echo "${uri%/}"; return; }
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        uri=$(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f" \
              | grep -E '/debian/?$' | head -n1 || true)
        [ -n "$uri" ] && { echo "${uri%/}"; return; }
    done
}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-$(apt_mirror)}
if [ -z "$DEBIAN_MIRROR" ]; then
    log "no Debian mirror found in /etc/apt/sources.list*; set DEBIAN_MIRROR"
    exit 1
fi
for tool in buildah debootstrap; do
    command -v "$tool" >/dev/null || { log "$tool is missing (apt-get install -y buildah debootstrap)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { log "must run as root (debootstrap)"; exit 1; }

ctr=$("${BUILDAH[@]}" from --name ocrd-core-base-build scratch 2>/dev/null || true)
if [ -z "$ctr" ]; then
    "${BUILDAH[@]}" rm ocrd-core-base-build >/dev/null 2>&1 || true
    ctr=$("${BUILDAH[@]}" from --name ocrd-core-base-build scratch)
fi
cleanup() { "${BUILDAH[@]}" rm "$ctr" >/dev/null 2>&1 || true; }
trap cleanup EXIT
rootfs=$("${BUILDAH[@]}" mount "$ctr")

log "debootstrap $DEBIAN_SUITE from $DEBIAN_MIRROR"
start=$SECONDS
debootstrap --variant=minbase \
    --include=ca-certificates,python3,python3-venv,python3-pip,git,make,wget \
    "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >&2
# apt inside the image uses the same mirror; keep the image lean
echo "deb $DEBIAN_MIRROR $DEBIAN_SUITE main" > "$rootfs/etc/apt/sources.list"
echo 'APT::Install-Recommends "0"; APT::Install-Suggests "0";' > "$rootfs/etc/apt/apt.conf.d/ocr-d.conf"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
log "debootstrap took $((SECONDS - start))s"

# trust the CAs this machine trusts beyond Debian's set (e.g. an egress proxy's)
HOST_CA_BUNDLE=${HOST_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}
if [ -n "$HOST_CA_BUNDLE" ] && [ -f "$HOST_CA_BUNDLE" ]; then
    python3 - "$HOST_CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt" \
        "$rootfs/usr/local/share/ca-certificates" <<'PY' >&2
import os, re, sys
pem = re.compile(r'-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----', re.S)
def certs(path):
    try:
        return pem.findall(open(path).read())
    except OSError:
        return []
known = {''.join(c.split()) for c in certs(sys.argv[2])}
extra = [c for c in certs(sys.argv[1]) if ''.join(c.split()) not in known]
os.makedirs(sys.argv[3], exist_ok=True)
for i, cert in enumerate(extra):
    with open(os.path.join(sys.argv[3], f'host-extra-{i}.crt'), 'w') as out:
        out.write(cert + '\n')
print(f'[build-base] {len(extra)} extra CA certificate(s) from the host trust store')
PY
    chroot "$rootfs" update-ca-certificates >&2
fi

"${BUILDAH[@]}" config \
    --env DEBIAN_FRONTEND=noninteractive \
    --env PYTHONIOENCODING=utf8 \
    --env LC_ALL=C.UTF-8 \
    --env LANG=C.UTF-8 \
    --env PIP=pip3 \
    --env VIRTUAL_ENV=/usr/local/venv \
    --env PATH=/usr/local/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env XDG_DATA_HOME=/usr/local/share \
    --env XDG_CONFIG_HOME=/usr/local/share/ocrd-resources \
    "$ctr"

log "pip install $OCRD_VERSION"
start=$SECONDS
"${RUN[@]}" "$ctr" -- sh -ec "
    python3 -m venv \$VIRTUAL_ENV
    pip install --no-cache-dir --upgrade pip setuptools wheel
    pip install --no-cache-dir '$OCRD_VERSION'
    ocrd --version
    # resources: /models is the volume, the XDG data location points to it
    mkdir -p /models /data
    chmod 1777 /models
    ln -s /models \$XDG_DATA_HOME/ocrd-resources
" >&2
log "pip install took $((SECONDS - start))s"

"${BUILDAH[@]}" config \
    --label maintainer=https://ocr-d.de/kontakt \
    --label org.opencontainers.image.title=ocrd/core \
    --label org.opencontainers.image.description="local stand-in for ocrd/core (Debian $DEBIAN_SUITE + pip install $OCRD_VERSION)" \
    --workingdir /data \
    --cmd '["/usr/local/venv/bin/ocrd", "--help"]' \
    "$ctr"
"${BUILDAH[@]}" unmount "$ctr" >/dev/null
"${BUILDAH[@]}" commit --rm "$ctr" "$BASE_TAG" >&2
trap - EXIT
"${BUILDAH[@]}" tag "$BASE_TAG" docker.io/ocrd/core:latest
log "built $BASE_TAG:"
"${BUILDAH[@]}" images --filter reference="$BASE_TAG" >&2
