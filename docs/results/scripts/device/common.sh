# sourced by the device scripts: environment, timer, packing of run folders
export PYTHONUNBUFFERED=1
T0=$(date +%s)
el() { echo "=== [t=$(( $(date +%s) - T0 ))s] $*"; }
left() { echo $(( $1 - ($(date +%s) - T0) )); }  # seconds left of a budget of $1 s
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD
EG="python3 -m eventgnn"
# a folder under .gpudata -> $OUT/NAME.tgz; last.pt is dropped from finished runs
pack() {
    (cd .gpudata && find "$1" -name last.pt | while read -r f; do
        [ -f "$(dirname "$f")/metrics.json" ] && echo "$f"; done > "/tmp/excl_$1"
     tar czf "$OUT/$1.tgz" -X "/tmp/excl_$1" "$1")
    ls -la "$OUT/$1.tgz"
}
SCAN_SET="train.test_fraction=0.4 train.val_fraction=0.1 train.plots=false train.num_threads=1"
