#!/usr/bin/env bash
# Rebuild the shipped pretrained models from nothing: the pretrain12 data, the multiclass and
# multilabel pretraining, and their cards (docs/models.md). Run from the repository root:
#
#     bash data_recipes/pretrained/build.sh                  # 84,000 events per process
#     EVENTS=5000 JOBS=2 bash data_recipes/pretrained/build.sh   # a small rehearsal
#
# EVENTS: events per process (12 processes; default 84,000, >= 10^6 in all); JOBS: generator
# processes (default: every core); WORK: the folder for data and runs (default build-pretrained);
# PUBLISH: where the models are written (default eventgnn/catalog/models, i.e. shipped).
# Every step resumes: generated shards are reused, a killed pretraining continues from last.pt,
# and a finished run is kept (rerunning the same command on a finished run is refused, so remove
# WORK/runs/TASK to retrain). Seeds: pretraining shards use seeds 1, 2, ... (one per 5,000
# events of a process), disjoint from the built-in downstream data (100,000,001 on) and the CP
# study's samples (200,000,001 on).
set -euo pipefail
EVENTS=${EVENTS:-84000}
JOBS=${JOBS:-$(nproc)}
WORK=${WORK:-build-pretrained}
PUBLISH=${PUBLISH:-eventgnn/catalog/models}
VERSION=${VERSION:-v1}

start=$(date +%s)
eventgnn generate --catalog pretrain12 --events "$EVENTS" --seed 1 --jobs "$JOBS" --out "$WORK/data"
echo "generation: $(( $(date +%s) - start )) s wall on $(nproc) cores"

# Convergence: early stopping on the validation loss (patience 10 epochs, never before 30),
# at most 300 epochs; the card records the epochs run and the best epoch. With two or more
# cores the two pretrainings run at once, each on half of them.
threads=$(( JOBS >= 2 ? JOBS / 2 : 1 ))
pids=()
for task in multiclass multilabel; do
    if [ ! -f "$WORK/runs/$task/model.pt" ]; then
        eventgnn pretrain --task "$task" --data "$WORK/data" --epochs 300 --out "$WORK/runs/$task" \
            train.patience=10 train.min_epochs=30 train.num_threads="$threads" \
            >> "$WORK/pretrain-$task.log" 2>&1 &  # appends: a resumed run keeps its log
        pids+=($!)
        [ "$JOBS" -ge 2 ] || wait "${pids[-1]}"
    fi
done
for pid in "${pids[@]}"; do wait "$pid"; done  # set -e: a failed pretraining stops here
echo "pretraining: $(( $(date +%s) - start )) s wall since the start (logs: $WORK/pretrain-*.log)"

# FOREIGN_LHE: an LHE file of QCD dijets from another generator (the v1 cards: MadGraph's
# p p > j j in ../shared/data/lhe); how the multiclass model classifies it, read as the qcd
# process, goes into its card's limitations (FOREIGN_SAMPLE: the words for it there)
foreign=()
if [ -n "${FOREIGN_LHE:-}" ]; then
    eventgnn generate --lhe "$FOREIGN_LHE" --process qcd --out "$WORK/foreign-qcd"
    foreign=(--foreign "$WORK/foreign-qcd" qcd "${FOREIGN_SAMPLE:-$(basename "$FOREIGN_LHE")}")
fi
python data_recipes/pretrained/publish_models.py "$WORK" "$PUBLISH" "$VERSION" "$EVENTS" \
    "${foreign[@]}"
echo "total: $(( $(date +%s) - start )) s wall"
