#!/bin/bash
# device call C: the finetuned scan points (pretrained runs from call B carried in), resumable;
# results packed per (task, setup) so that each file stays under the 16 MiB return limit
. .gpudata/common.sh
mkdir -p $OUT/logs
TASKS="wh_vs_zh tth_cp_even_vs_odd"
el finetune
B=$(left ${CALL_BUDGET:-480})
for T in $TASKS; do
    timeout $B $EG scan --task $T --sizes 10000,1000 --seeds 5 --data .gpudata/down --epochs 100 \
        --setups scratch,multiclass,multilabel --jobs ${JOBS:-10} --out .gpudata/scan_$T $SCAN_SET train.amp=true \
        --pretrained multiclass=.gpudata/pretrained/multiclass multilabel=.gpudata/pretrained/multilabel \
        > $OUT/logs/scanC_$T.log 2>&1 &
done
wait
sleep 1
el pack
cd .gpudata
for T in $TASKS; do
    for S in scratch multiclass multilabel; do
        find scan_$T/runs/$S -name last.pt | while read -r f; do
            [ -f "$(dirname "$f")/metrics.json" ] && echo "$f"; done > /tmp/excl
        tar czf $OUT/${T}_$S.tgz -X /tmp/excl scan_$T/runs/$S
    done
    grep -c "done:" $OUT/logs/scanC_$T.log
done
cd $OUT && tar czf logs.tgz logs && rm -r logs && ls -la $OUT
