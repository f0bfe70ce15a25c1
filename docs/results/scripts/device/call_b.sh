#!/bin/bash
# device call B: pretraining (both setups) while the last scratch points finish, then the
# finetuned scan points; everything resumable (call C goes on where this stops)
# NOTE (as run): the per-task tarballs of this call came out at 18 MB, over the device tool's
# 16 MiB file limit, and were lost with the machine; call_c.sh packs per (task, setup) instead.
. .gpudata/common.sh
TASKS="wh_vs_zh tth_cp_even_vs_odd"
SCAN="--sizes 1000,10000 --seeds 5 --data .gpudata/down --epochs 100"
PRE_SET="train.batch_size=4096 train.lr=1e-3 train.amp=false train.plots=false train.num_threads=2 train.eval_batch_size=65536"
mkdir -p $OUT/logs
if [ -n "$BENCH" ]; then
    el bench_epoch on the pretraining data
    timeout 150 python3 benchmarks/bench_epoch.py --data ${PRE_DATA:-.gpudata/pre} --device cuda \
        --events 2000000 --variants b32768-fp32,b32768-bf16 --epoch-events 10000000 \
        --json $OUT/bench_epoch_pre.json 2>&1 | grep -v -i warn
    el bench_model fp32
    timeout 100 python3 benchmarks/bench_model.py --data .gpudata/pre_default --device cuda \
        --events 6000 --repeats 2 --json $OUT/bench_model_cuda_fp32.json 2>&1 | tail -6
fi
el pretrain
for K in multiclass multilabel; do
    [ -f .gpudata/pretrained/$K/metrics.json ] && continue
    timeout ${PRE_BUDGET:-240} $EG pretrain --task $K --data ${PRE_DATA:-.gpudata/pre} --epochs 100 --seed 0 \
        --out .gpudata/pretrained/$K $PRE_SET > $OUT/logs/pretrain_$K.log 2>&1 &
done
for T in $TASKS; do
    timeout ${PRE_BUDGET:-240} $EG scan --task $T $SCAN --setups scratch --jobs 3 \
        --out .gpudata/scan_$T $SCAN_SET train.amp=true > $OUT/logs/scanB_scratch_$T.log 2>&1 &
done
wait
for K in multiclass multilabel; do  # stopped by the time box: finish at the last epoch done
    R=.gpudata/pretrained/$K
    if [ -f $R/metrics.json ]; then
        :
    elif [ ! -f $R/history.csv ]; then
        el "pretrain $K: no epoch finished"
    elif [ ! -f $R/metrics.json ]; then
        E=$(( $(wc -l < $R/history.csv) - 1 ))
        el "pretrain $K stopped by the time box after $E epochs: finishing"
        $EG pretrain --task $K --data ${PRE_DATA:-.gpudata/pre} --epochs $E --seed 0 --out $R $PRE_SET >> $OUT/logs/pretrain_$K.log 2>&1
    fi
    tail -2 $OUT/logs/pretrain_$K.log
done
el finetune
B=$(left ${CALL_BUDGET:-550})
for T in $TASKS; do
    timeout $B $EG scan --task $T $SCAN --setups scratch,multiclass,multilabel --jobs 8 \
        --out .gpudata/scan_$T $SCAN_SET train.amp=true \
        --pretrained multiclass=.gpudata/pretrained/multiclass multilabel=.gpudata/pretrained/multilabel \
        > $OUT/logs/scanF_$T.log 2>&1 &
done
wait
sleep 1
el pack
(cd .gpudata && tar czf $OUT/pretrained.tgz --exclude=last.pt pretrained)
pack scan_wh_vs_zh; pack scan_tth_cp_even_vs_odd
for T in $TASKS; do grep -c "done:" $OUT/logs/scanF_$T.log; tail -3 $OUT/logs/scanF_$T.log; done
(cd $OUT && tar czf logs.tgz logs && rm -r logs)
for T in $TASKS; do cat .gpudata/scan_$T/summary.md 2>/dev/null | head -12; done
