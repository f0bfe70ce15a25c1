#!/bin/bash
# device call A: environment, CUDA tests, GPU benchmarks, then the from-scratch scan points
. .gpudata/common.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -c "import torch, torch_geometric, awkward, numpy; print('torch', torch.__version__, 'pyg', torch_geometric.__version__, 'ak', awkward.__version__, 'np', numpy.__version__, torch.cuda.get_device_name())"
nproc
el tests
timeout 150 python3 -m pytest -q -p no:cacheprovider -p no:warnings tests/test_fast_path.py tests/train/test_engine.py tests/model 2>&1 | tail -8
el bench_epoch
timeout 270 python3 benchmarks/bench_epoch.py --data .gpudata/pre_default --device cuda --events 2000000 \
    --variants b128-fp32,b128-bf16,b1024-bf16,b8192-fp32,b8192-bf16,b32768-bf16,b8192-bf16-compile \
    --epoch-events 10000000 --json $OUT/bench_epoch.json 2>&1 | grep -v -i warn
el bench_model
timeout 120 python3 benchmarks/bench_model.py --data .gpudata/pre_default --device cuda --events 6000 \
    --repeats 2 --bf16 --json $OUT/bench_model_cuda.json 2>&1 | tail -8
el scans
B=$(left 560)
for T in wh_vs_zh tth_cp_even_vs_odd; do
    timeout $B $EG scan --task $T --sizes 1000,10000 --seeds 5 --setups scratch --data .gpudata/down \
        --epochs 100 --jobs 6 --out .gpudata/scan_$T $SCAN_SET > $OUT/scan_$T.log 2>&1 &
done
wait
sleep 1
el pack
pack scan_wh_vs_zh; pack scan_tth_cp_even_vs_odd
tail -3 $OUT/scan_*.log
