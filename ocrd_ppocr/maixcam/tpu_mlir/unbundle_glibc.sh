#!/usr/bin/env bash
# tpu_mlir's wheel bundles Ubuntu 22.04's glibc 2.35 (libc, libm, libpthread)
# in tpu_mlir/lib/third_party and puts that directory first on
# LD_LIBRARY_PATH; on a system with a newer glibc, the system's own libraries
# then fail to load, e.g. (Debian 12, glibc 2.36):
#   python: .../tpu_mlir/lib/third_party/libc.so.6: version `GLIBC_2.36' not
#   found (required by /lib/x86_64-linux-gnu/libexpat.so.1)
# glibc is backwards compatible, so where the system's is at least 2.35 the
# bundled copies are moved aside (to lib/glibc-bundled) and the system's used.
# Usage: unbundle_glibc.sh VENV
set -euo pipefail
python=$1/bin/python
lib=$("$python" -c 'import os, importlib.util as u; print(os.path.dirname(u.find_spec("tpu_mlir").origin))')/lib
if "$python" -c 'import platform, sys; v = platform.libc_ver()[1]; sys.exit(tuple(map(int, v.split("."))) < (2, 35))'; then
    mkdir -p "$lib/glibc-bundled"
    for name in libc.so.6 libm.so.6 libpthread.so.0; do
        if [ -e "$lib/third_party/$name" ]; then mv "$lib/third_party/$name" "$lib/glibc-bundled/"; fi
    done
fi
