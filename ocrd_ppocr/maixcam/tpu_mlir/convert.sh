#!/usr/bin/env bash
# Convert the MaixCAM PP-OCR pair to cvimodels for the cv181x NPU with
# tpu-mlir (written by ocrd-ppocr-maixcam-export; run it in that directory
# with tpu-mlir's model_transform.py and model_deploy.py on PATH, e.g.
# PATH=/path/to/.venv-tpu/bin:$PATH bash convert.sh).
#
# For each model: model_transform.py imports the fixed-shape ONNX graph with
# the station's preprocessing and keeps ONNX Runtime's outputs on one
# calibration image as the reference; cali_table.py writes tpu-mlir's
# calibration table from {det,rec}_thresholds.json, the thresholds the x86
# INT8 graph was quantised with (percentiles over calibration/, computed by
# the build: tpu-mlir's run_calibration.py is not used, so that the station
# and `-P preset maixcam` quantise with the same scales); model_deploy.py
# writes an INT8 and a
# BF16 cvimodel and compares tpu-mlir's simulation of each with the reference
# (it prints the similarities and fails below its tolerance, which is left at
# model_deploy.py's defaults: INT8 0.90,0.80 and BF16 0.99,0.90, cosine and
# euclidean similarity). The INT8 models' quantisation table puts exactly
# the layers named in det_float_layers.txt / rec_float_layers.txt into BF16:
# the list that our ONNX Runtime INT8 graphs keep float (build.py SETTINGS,
# the one place that says which; written by ocrd-ppocr-maixcam-export).
# Where the INT8 check fails at the default tolerance, the failure is
# printed ("INT8 check FAILED") and the INT8 cvimodel is built again without
# the check, so that what the station would run can still be measured; the
# script then exits with status 3. The README's MaixCAM export section says
# by how much the check missed and why.
# Intermediate files go to work/.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p work

DET_MEAN=123.675,116.28,103.53
DET_SCALE=0.017124753831663668,0.01750700280112045,0.017429193899782137
REC_MEAN=127.5,127.5,127.5
REC_SCALE=0.00784313725490196,0.00784313725490196,0.00784313725490196

# convert NAME SHAPE CALIBRATION_DIR MEAN SCALE [more model_transform.py options]
# (the reference input is the middle calibration image)
convert() {
    local name=$1 shape=$2 role=$3 data=../calibration/$3 mean=$4 scale=$5 sample count
    count=$(ls "calibration/$3" | wc -l)
    sample=$(ls "calibration/$3" | sort | sed -n "$((count / 2 + 1))p")
    shift 5
    (
        cd work
        model_transform.py --model_name "$name" --model_def "../${name}_fp32.onnx" \
            --input_shapes "[$shape]" --mean "$mean" --scale "$scale" --pixel_format bgr "$@" \
            --test_input "$data/$sample" --test_result "${name}_top_outputs.npz" --mlir "$name.mlir"
        python3 ../cali_table.py "$name.mlir" "../${role}_thresholds.json" > "${name}_cali_table"
        local qtable=()
        # the layers our ONNX Runtime INT8 graph keeps float ({det,rec}_float_layers.txt):
        # every tpu-mlir op named after one of their output tensors
        if [ -s "../${role}_float_layers.txt" ]; then
            python3 ../cali_table.py --qtable "$name.mlir" "../${role}_float_layers.txt" > "${name}_qtable"
        fi
        if [ -s "${name}_qtable" ]; then qtable=(--quantize_table "${name}_qtable"); fi
        if ! model_deploy.py --mlir "$name.mlir" --processor cv181x --quantize INT8 \
            --calibration_table "${name}_cali_table" "${qtable[@]}" \
            --test_input "${name}_in_f32.npz" --test_reference "${name}_top_outputs.npz" \
            --model "../${name}_int8.cvimodel"; then
            echo "INT8 check FAILED for $name at model_deploy.py's default tolerance; building it unchecked"
            model_deploy.py --mlir "$name.mlir" --processor cv181x --quantize INT8 \
                --calibration_table "${name}_cali_table" "${qtable[@]}" --model "../${name}_int8.cvimodel"
            echo "$name" >> failed_int8_checks
        fi
        model_deploy.py --mlir "$name.mlir" --processor cv181x --quantize BF16 \
            --test_input "${name}_in_f32.npz" --test_reference "${name}_top_outputs.npz" \
            --model "../${name}_bf16.cvimodel"
    )
}

rm -f work/failed_int8_checks
convert PP-OCRv3_det_maixcam "[1,3,224,320]" det "$DET_MEAN" "$DET_SCALE" --keep_aspect_ratio
convert PP-OCRv4_rec_maixcam "[1,3,48,320]" rec "$REC_MEAN" "$REC_SCALE"
ls -l ./*.cvimodel
if [ -s work/failed_int8_checks ]; then
    echo "INT8 check at the default tolerance failed for: $(tr '\n' ' ' < work/failed_int8_checks)"
    exit 3
fi
