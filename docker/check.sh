#!/usr/bin/env bash
# Build the ocrd/ppocr image with buildah (no Docker engine needed) and check
# it the way it will be used: CLI answers, default models are baked in, the
# detector segments a workspace mounted at /data, and an arbitrary non-root
# user (docker run --user ...) can process and read/write /models.
#
# Usage: docker/check.sh [WORKSPACE]
#   WORKSPACE  METS workspace with an OCR-D-IMG fileGrp (default: sample/);
#              copied, never modified. Without a mets.xml there, a workspace is
#              made from (up to 3) page images in tests/data/ (ocrd workspace
#              init/add, run inside the image).
# Environment:
#   IMAGE           tag to build/check (default: ocrd/ppocr)
#   BASE_IMAGE      base image (default: ocrd/core; built by
#                   docker/build-base.sh when missing)
#   SKIP_BUILD=1    check an existing $IMAGE without rebuilding it
#   STORAGE_DRIVER  buildah storage driver (default: buildah's own; vfs where
#                   overlay does not work)
#   RUN_USER        the non-root user:group (default: 1000:1000)
# Prints PASS/FAIL per check and exits non-zero if any check failed.
set -uo pipefail

cd "$(dirname "$0")/.."
WORKSPACE=${1:-sample/}
IMAGE=${IMAGE:-ocrd/ppocr}
BASE_IMAGE=${BASE_IMAGE:-ocrd/core}
RUN_USER=${RUN_USER:-1000:1000}
BUILDAH=(buildah ${STORAGE_DRIVER:+--storage-driver "$STORAGE_DRIVER"})

failures=0
passes=0
pass() { passes=$((passes + 1)); echo "PASS: $*"; }
fail() { failures=$((failures + 1)); echo "FAIL: $*"; }
info() { echo "----- $*"; }
finish() {
    echo
    echo "===== $passes passed, $failures failed"
    [ "$failures" -eq 0 ] && echo "RESULT: PASS" || echo "RESULT: FAIL"
    exit $(( failures > 0 ))
}

tmp=$(mktemp -d)
containers=()
cleanup() {
    local c
    for c in "${containers[@]}"; do "${BUILDAH[@]}" rm "$c" >/dev/null 2>&1; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# a fresh container of $IMAGE per scenario, like a new `docker run`; sets $c
# (no command substitution: the container must be recorded for the cleanup)
new_container() {
    c=$("${BUILDAH[@]}" from --pull=never "$IMAGE") || return 1
    containers+=("$c")
    # unlike `docker run -v DIR:/data`, `buildah run` puts the image's anonymous
    # VOLUME /data over a bind mount there; drop it in this container only
    "${BUILDAH[@]}" config --volume /data- "$c" >/dev/null
}
# in_image CONTAINER HOSTDIR USER CMD...: run CMD in CONTAINER, HOSTDIR at /data
in_image() {
    local c=$1 dir=$2 user=$3
    shift 3
    "${BUILDAH[@]}" run --isolation chroot --user "$user" "${RUN_ENV[@]}" \
        --volume "$dir:/data" --workingdir /data "$c" -- "$@"
}
# --isolation chroot cannot do --network none; a dead proxy at least makes
# any HTTP(S) download through Python (requests, urllib, pip) fail
OFFLINE=()
for var in http_proxy https_proxy HTTP_PROXY HTTPS_PROXY; do
    OFFLINE+=(--env "$var=http://127.0.0.1:9")
done
OFFLINE+=(--env no_proxy= --env NO_PROXY=)
RUN_ENV=("${OFFLINE[@]}")
count_lines() {  # number of TextLine elements in the PAGE files of a fileGrp dir
    cat "$1"/*.xml 2>/dev/null | grep -Eo '<([A-Za-z0-9_]+:)?TextLine[ >]' | wc -l
}
# check_segmentation WSDIR FILEGRP: every page has a PAGE file with TextLines
check_segmentation() {
    local ws=$1 grp=$2 pages files lines f n
    pages=$(sed -n '/<mets:fileGrp USE="OCR-D-IMG"/,/<\/mets:fileGrp>/p' "$ws/mets.xml" | grep -c '<mets:file ')
    files=$(ls "$ws/$grp"/*.xml 2>/dev/null | wc -l)
    lines=$(count_lines "$ws/$grp")
    if [ "$files" -ge 1 ] && [ "$files" -eq "$pages" ] && grep -q "USE=\"$grp\"" "$ws/mets.xml"; then
        pass "$grp: $files PAGE file(s) for $pages page(s), registered in mets.xml"
    else
        fail "$grp: $files PAGE file(s) for $pages page(s)"
    fi
    for f in "$ws/$grp"/*.xml; do
        [ -f "$f" ] || continue
        n=$(grep -Eo '<([A-Za-z0-9_]+:)?TextLine[ >]' "$f" | wc -l)
        if [ "$n" -gt 0 ]; then
            pass "$grp/$(basename "$f"): $n TextLine(s)"
        else
            fail "$grp/$(basename "$f"): no TextLine"
        fi
    done
    echo "      ($lines TextLines in all)"
}

# ---------------------------------------------------------------- build
if ! "${BUILDAH[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
    info "base image $BASE_IMAGE missing: docker/build-base.sh"
    start=$SECONDS
    if BASE_TAG=$BASE_IMAGE docker/build-base.sh; then
        pass "base image $BASE_IMAGE built ($((SECONDS - start))s)"
    else
        fail "base image $BASE_IMAGE could not be built"
        finish
    fi
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    info "buildah bud --isolation chroot -t $IMAGE ."
    start=$SECONDS
    if "${BUILDAH[@]}" bud --isolation chroot --layers --pull=never \
            --build-arg DOCKER_BASE_IMAGE="$BASE_IMAGE" \
            --build-arg VCS_REF="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
            --build-arg BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
            -t "$IMAGE" .; then
        pass "image $IMAGE built ($((SECONDS - start))s)"
    else
        fail "buildah bud of $IMAGE failed ($((SECONDS - start))s)"
        finish
    fi
fi
size=$("${BUILDAH[@]}" images --format '{{.Size}}' "$IMAGE" 2>/dev/null | head -n1)
[ -n "$size" ] || { fail "image $IMAGE not found"; finish; }
info "image $IMAGE: $size"

# ---------------------------------------------------------------- workspace
ws_src=$tmp/workspace
if [ -f "$WORKSPACE/mets.xml" ]; then
    cp -a "$WORKSPACE" "$ws_src"
    pass "workspace copied from $WORKSPACE"
else
    # page images (TIFF first; tests/data/<set>/*.tif), at most 3
    images=$( { find tests/data -maxdepth 2 -type f \( -name '*.tif' -o -name '*.tiff' \) | sort
                find tests/data -maxdepth 2 -type f \( -name '*.png' -o -name '*.jpg' \) | sort
              } 2>/dev/null | head -n 3)
    if [ -z "$images" ]; then
        fail "no workspace at $WORKSPACE and no images in tests/data/ to make one"
        finish
    fi
    info "no workspace at $WORKSPACE: making one from $(echo $images)"
    mkdir -p "$ws_src/OCR-D-IMG"
    script="ocrd workspace init ."
    i=0
    for img in $images; do
        i=$((i + 1))
        ext=${img##*.}
        cp "$img" "$ws_src/OCR-D-IMG/OCR-D-IMG_$i.$ext"
        mime=$(case $ext in tif|tiff) echo image/tiff;; png) echo image/png;; *) echo image/jpeg;; esac)
        script="$script && ocrd workspace add -G OCR-D-IMG -i OCR-D-IMG_$i -g PHYS_$i -m $mime OCR-D-IMG/OCR-D-IMG_$i.$ext"
    done
    new_container && in_image "$c" "$ws_src" 0:0 sh -c "$script" \
        && pass "workspace created ($i page(s))" || { fail "workspace creation"; finish; }
fi

# ---------------------------------------------------------------- as root
info "as root (default user; HTTP(S) proxies set to a dead port: no downloads)"
new_container || { fail "buildah from $IMAGE"; finish; }
ws=$tmp/ws-root
cp -a "$ws_src" "$ws"

if out=$(in_image "$c" "$ws" 0:0 ocrd-ppocr-detect --version 2>&1); then
    pass "ocrd-ppocr-detect --version: $(echo "$out" | tail -n1)"
else
    echo "$out" | tail -n 20 | sed 's/^/      /'
    fail "ocrd-ppocr-detect --version"
fi

if out=$(in_image "$c" "$ws" 0:0 ocrd-ppocr-detect --list-resources 2>/dev/null); then
    echo "$out" | sed 's/^/      /'
    if echo "$out" | grep -q 'PP-OCRv5_det_mobile.onnx'; then
        pass "ocrd-ppocr-detect --list-resources lists the default model"
    else
        fail "ocrd-ppocr-detect --list-resources does not list PP-OCRv5_det_mobile.onnx"
    fi
else
    fail "ocrd-ppocr-detect --list-resources: $out"
fi

# default models baked into the module directory, tools registered with core
if out=$(in_image "$c" "$ws" 0:0 sh -c \
        'd=$(ocrd-ppocr-detect --dump-module-dir) && echo "module dir $d" && ls -l "$d"/*.onnx "$d"/*.txt' 2>&1); then
    echo "$out" | sed 's/^/      /'
    n=$(echo "$out" | grep -c '\.onnx$')
    [ "$n" -ge 5 ] && pass "$n ONNX models in the module directory" \
                   || fail "only $n ONNX models in the module directory"
else
    fail "no models in the module directory: $out"
fi
if out=$(in_image "$c" "$ws" 0:0 python3 -c '
import json
from importlib.resources import files
tools = json.loads(files("ocrd").joinpath("ocrd-all-tool.json").read_text())
dirs = json.loads(files("ocrd").joinpath("ocrd-all-module-dir.json").read_text())
assert "ocrd-ppocr-detect" in tools, "ocrd-ppocr-detect not in ocrd-all-tool.json"
assert "ocrd-ppocr-detect" in dirs, "ocrd-ppocr-detect not in ocrd-all-module-dir.json"
assert "ocrd-dummy" in tools, "core tools dropped from ocrd-all-tool.json"
print(len(tools), "tools in ocrd-all-tool.json, module dir", dirs["ocrd-ppocr-detect"])
' 2>&1); then
    pass "registered in ocrd-all-tool.json/ocrd-all-module-dir.json ($out)"
else
    fail "ocrd-all-tool.json registration: $out"
fi

start=$SECONDS
if out=$(in_image "$c" "$ws" 0:0 ocrd-ppocr-detect -I OCR-D-IMG -O OCR-D-SEG 2>&1); then
    pass "ocrd-ppocr-detect -I OCR-D-IMG -O OCR-D-SEG as root ($((SECONDS - start))s)"
else
    echo "$out" | tail -n 20 | sed 's/^/      /'
    fail "ocrd-ppocr-detect -I OCR-D-IMG -O OCR-D-SEG as root"
fi
check_segmentation "$ws" OCR-D-SEG

# ---------------------------------------------------------------- as non-root
info "as user $RUN_USER (docker run --user)"
new_container || { fail "buildah from $IMAGE"; finish; }
ws=$tmp/ws-user
cp -a "$ws_src" "$ws"
chown -R "$RUN_USER" "$ws"

if out=$(in_image "$c" "$ws" "$RUN_USER" sh -c '
    set -e
    ls -ld /models "$XDG_DATA_HOME/ocrd-resources"
    mkdir -p /models/ocrd-ppocr-detect
    echo written > /models/ocrd-ppocr-detect/write-test
    cat /models/ocrd-ppocr-detect/write-test
    rm -r /models/ocrd-ppocr-detect' 2>&1); then
    echo "$out" | sed 's/^/      /'
    pass "/models is readable and writable for $RUN_USER"
else
    echo "$out" | sed 's/^/      /'
    fail "/models is not writable for $RUN_USER"
fi

if out=$(in_image "$c" "$ws" "$RUN_USER" ocrd resmgr list-installed -e ocrd-ppocr-detect 2>&1); then
    echo "$out" | sed 's/^/      /'
    pass "ocrd resmgr list-installed -e ocrd-ppocr-detect as $RUN_USER"
else
    echo "$out" | tail -n 20 | sed 's/^/      /'
    fail "ocrd resmgr list-installed as $RUN_USER"
fi

# a model installed by that user into /models (resmgr's data location) is found
if out=$(in_image "$c" "$ws" "$RUN_USER" sh -c '
    set -e
    mkdir -p /models/ocrd-ppocr-detect
    cp "$(ocrd-ppocr-detect --dump-module-dir)/PP-OCRv6_det_tiny.onnx" /models/ocrd-ppocr-detect/user-tiny.onnx
    ocrd-ppocr-detect --list-resources 2>/dev/null | grep user-tiny' 2>/dev/null); then
    pass "a model written to /models by $RUN_USER is listed ($(echo "$out" | sort -u | tr '\n' ' '))"
else
    echo "$out" | tail -n 20 | sed 's/^/      /'
    fail "model in /models not found for $RUN_USER"
fi

start=$SECONDS
if out=$(in_image "$c" "$ws" "$RUN_USER" ocrd-ppocr-detect -I OCR-D-IMG -O OCR-D-SEG \
        -P model user-tiny 2>&1); then
    pass "ocrd-ppocr-detect -I OCR-D-IMG -O OCR-D-SEG -P model user-tiny as $RUN_USER ($((SECONDS - start))s)"
else
    echo "$out" | tail -n 20 | sed 's/^/      /'
    fail "ocrd-ppocr-detect as $RUN_USER"
fi
check_segmentation "$ws" OCR-D-SEG
owner=$(stat -c %u:%g "$ws"/OCR-D-SEG/*.xml 2>/dev/null | sort -u | tr '\n' ' ')
[ "$owner" = "$RUN_USER " ] && pass "output files owned by $RUN_USER" \
                            || fail "output files owned by '$owner', not $RUN_USER"

finish
