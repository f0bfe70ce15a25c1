#!/usr/bin/env bash
# The reference study's Table I (accuracy versus training size), Table III (CKA between
# ensembles) and Figure 1 (time to 99%) measured with the shipped models on the built-in tasks,
# written into docs/results/v1/TASK/ for docs/results.md and the notebooks. Run from the
# repository root after build.sh (the timing table reads the histories of build.sh's runs):
#
#     bash data_recipes/pretrained/tables.sh
#     TASKS=wh_vs_zh SIZES=100,1000 SEEDS=2 EVENTS=2500 bash data_recipes/pretrained/tables.sh
#
# TASKS: built-in tasks (default: wh_vs_zh stop_vs_tth tth_cp_even_vs_odd); SIZES: training
# events per class (default 1000,10000); SEEDS: ensemble size (default 5); EVENTS: generated
# events per process (default 25,000: 10,000 test events per class at train.test_fraction=0.4,
# a validation split of 2,500 and a training pool of 12,500 per class); JOBS: runs trained at
# once, one thread each (default: every core); WORK: data and scans (default build-tables);
# PRETRAINED: build.sh's runs folder (default build-pretrained/runs); RESULTS: where the tables
# go (default docs/results/v1); MULTICLASS, MULTILABEL: the models finetuned from (default the
# shipped v1 models; any run folder or model name). A task whose processes are all pretraining
# classes (wh_vs_zh) gets a second scan of the multiclass setup with finetune.head=classes in
# RESULTS/TASK-head-classes (no scratch runs there: its gains are against TASK's scratch runs).
#
# Every step resumes: generated shards and finished scan runs are reused (a scan refuses a
# rerun with other options), and a CKA table newer than every run of its size is kept.
# Downstream data use seeds 200,000,001, ... (one per 5,000 events of a process), disjoint from
# the pretraining data's 1, 2, ...; tth_cp_even_vs_odd's samples are those of docs/results.md's
# CP study.
set -euo pipefail
TASKS=${TASKS:-wh_vs_zh stop_vs_tth tth_cp_even_vs_odd}
SIZES=${SIZES:-1000,10000}
SEEDS=${SEEDS:-5}
EVENTS=${EVENTS:-25000}
JOBS=${JOBS:-$(nproc)}
WORK=${WORK:-build-tables}
PRETRAINED=${PRETRAINED:-build-pretrained/runs}
RESULTS=${RESULTS:-docs/results/v1}
MULTICLASS=${MULTICLASS:-pretrain12-multiclass-v1}
MULTILABEL=${MULTILABEL:-pretrain12-multilabel-v1}
SCRIPTS=docs/results/scripts
# the same budget rules for every run, scratch or finetuned: at most 100 epochs, early stopping
# on the validation loss (patience 10, not before epoch 25), one thread per run
SET="train.test_fraction=0.4 train.val_fraction=0.1 train.plots=false train.num_threads=1"
SET="$SET train.min_epochs=25 train.patience=10"

# copy_scan SCAN OUT [PRETRAINED]: the scan without its weights (results, summaries, plots, every
# run's config, history and metrics), and the pretraining runs' histories in OUT/pretrained/SETUP
copy_scan() {
    python - "$@" <<'PY'
import shutil
import sys

skip = shutil.ignore_patterns("*.pt", "plots", ".eventgnn.lock")
shutil.copytree(sys.argv[1], sys.argv[2], dirs_exist_ok=True, ignore=skip)
for setup in ("multiclass", "multilabel") if len(sys.argv) > 3 else ():
    shutil.copytree(f"{sys.argv[3]}/{setup}", f"{sys.argv[2]}/pretrained/{setup}",
                    dirs_exist_ok=True, ignore=skip)
PY
}

for task in $TASKS; do
    start=$(date +%s)
    processes=$(python -c "from eventgnn.catalog.processes import get_task; t = get_task('$task'); \
print(','.join(t.signal + t.background))")
    eventgnn generate --process "$processes" --events "$EVENTS" --seed 200000001 --jobs "$JOBS" \
        --out "$WORK/data/$task"
    echo "$task: generation $(( $(date +%s) - start )) s wall"
    # shellcheck disable=SC2086  # SET is a list of overrides
    eventgnn scan --task "$task" --sizes "$SIZES" --seeds "$SEEDS" \
        --setups scratch,multiclass,multilabel --data "$WORK/data/$task" --epochs 100 \
        --jobs "$JOBS" --out "$WORK/scan/$task" $SET \
        --pretrained multiclass="$MULTICLASS" multilabel="$MULTILABEL"
    echo "$task: scan $(( $(date +%s) - start )) s wall since the start of the task"
    # where every process of the task is a pretraining class (wh_vs_zh), the multiclass setup
    # once more with its head started from those classes (finetune.head=classes; not the
    # paper's protocol, docs/training.md), into a scan of its own beside the first
    if python -c "import sys; from eventgnn.catalog.processes import get_catalog, get_task; \
t = get_task('$task'); sys.exit(not set(t.signal + t.background) <= set(get_catalog('pretrain12')))"
    then
        # shellcheck disable=SC2086
        eventgnn scan --task "$task" --sizes "$SIZES" --seeds "$SEEDS" --setups multiclass \
            --data "$WORK/data/$task" --epochs 100 --jobs "$JOBS" \
            --out "$WORK/scan/$task-head-classes" $SET finetune.head=classes \
            --pretrained multiclass="$MULTICLASS"
        copy_scan "$WORK/scan/$task-head-classes" "$RESULTS/$task-head-classes"
    fi

    out="$RESULTS/$task"  # what the notebooks read
    copy_scan "$WORK/scan/$task" "$out" "$PRETRAINED"
    for size in ${SIZES//,/ }; do
        # a CKA table newer than every run of its size is kept (minutes per table)
        table="$out/cka_n$size.md"
        if [[ -s $table && -z $(find "$WORK/scan/$task/runs" -path "*/n$size/*" \
                -name metrics.json -newer "$table") ]]; then
            echo "$task: $table is newer than every run of size $size: kept"
            continue
        fi
        python "$SCRIPTS/cka_table.py" "$WORK/scan/$task" "$size" 5000 "$SEEDS" > "$table.part"
        mv "$table.part" "$table"
    done
    python "$SCRIPTS/timing_table.py" "$out" "$out/pretrained" auto > "$out/timing.md"
    echo "$task: done in $(( $(date +%s) - start )) s wall, tables in $out"
done
