ARG DOCKER_BASE_IMAGE=ocrd/core
FROM $DOCKER_BASE_IMAGE
ARG DOCKER_BASE_IMAGE=ocrd/core
ARG VCS_REF
ARG BUILD_DATE
LABEL \
    maintainer="https://ocr-d.de/kontakt" \
    org.label-schema.vcs-ref=$VCS_REF \
    org.label-schema.vcs-url="https://github.com/OCR-D/ocrd_ppocr" \
    org.label-schema.build-date=$BUILD_DATE \
    org.opencontainers.image.vendor="DFG-Funded Initiative for Optical Character Recognition Development" \
    org.opencontainers.image.title="ocrd_ppocr" \
    org.opencontainers.image.description="OCR-D processors for PaddleOCR (PP-OCR) models through ONNX Runtime" \
    org.opencontainers.image.source="https://github.com/OCR-D/ocrd_ppocr" \
    org.opencontainers.image.documentation="https://github.com/OCR-D/ocrd_ppocr/blob/${VCS_REF}/README.md" \
    org.opencontainers.image.revision=$VCS_REF \
    org.opencontainers.image.created=$BUILD_DATE \
    org.opencontainers.image.licenses="Apache-2.0" \
    org.opencontainers.image.base.name=$DOCKER_BASE_IMAGE

ENV DEBIAN_FRONTEND=noninteractive
ENV PYTHONIOENCODING=utf8
ENV LANG=C.UTF-8
ENV LC_ALL=C.UTF-8

# avoid HOME/.local/share (hard to predict USER here)
# so let XDG_DATA_HOME coincide with fixed system location
# (can still be overridden by derived stages)
ENV XDG_DATA_HOME=/usr/local/share
# avoid the need for an extra volume for persistent resource user db
# (i.e. XDG_CONFIG_HOME/ocrd/resources.yml)
ENV XDG_CONFIG_HOME=/usr/local/share/ocrd-resources

WORKDIR /build/ocrd_ppocr
COPY . .
# install the package, bake the default models into the module directory
# (so every processor, Processing Worker included, starts without downloads;
# run outside the source tree, so that the installed package is the target),
# then register the tools in core's ocrd-all-tool.json / ocrd-all-module-dir.json
# (merged, so core's own processors stay listed) and reduce image size
# MAIXCAM=1 also bakes in the MaixCAM preset's INT8 graphs (about 7 minutes
# on 2 cores); otherwise they are built on first use of the preset
ARG MAIXCAM=0
RUN pip install --no-cache-dir . \
    && (cd / && PIP_NO_CACHE_DIR=1 python3 -m ocrd_ppocr.install_models --target module \
        $([ "$MAIXCAM" = 1 ] && echo --maixcam)) \
    && OCRD_PKG_DIR=$(dirname $(ocrd bashlib filename)) \
    && ocrd ocrd-tool ocrd-tool.json dump-tools > /tmp/ocrd-tools.json \
    && ocrd ocrd-tool ocrd-tool.json dump-module-dirs > /tmp/ocrd-module-dirs.json \
    && python3 docker/merge-json.py $OCRD_PKG_DIR/ocrd-all-tool.json /tmp/ocrd-tools.json \
    && python3 docker/merge-json.py $OCRD_PKG_DIR/ocrd-all-module-dir.json /tmp/ocrd-module-dirs.json \
    && rm -rf /build/ocrd_ppocr /tmp/ocrd-tools.json /tmp/ocrd-module-dirs.json

# resources volume: /models is where `ocrd resmgr` puts models (via
# $XDG_DATA_HOME/ocrd-resources); any user (docker run --user $(id -u)) must be
# able to read and write there
RUN mkdir -p /models \
    && { [ -e $XDG_DATA_HOME/ocrd-resources ] || ln -s /models $XDG_DATA_HOME/ocrd-resources; } \
    && chmod 1777 /models $XDG_DATA_HOME/ocrd-resources/

WORKDIR /data
VOLUME /data
