#!/bin/bash
# The same array job for a plain batch system (HTCondor, PBS, LSF, or a shell loop): give each
# job its index I (0..N-1) and the count N as arguments:
#
#   for i in $(seq 0 99); do qsub -v I=$i,N=100 data_recipes/cluster/generate_array.sh; done
#   bash data_recipes/cluster/generate_array.sh 3 100          # job 3 of 100, by hand
#
# Settings as in generate_array.slurm: CATALOG or PROCESSES, EVENTS, SEED, OUT.
set -euo pipefail
I=${1:-${I:?give the job index I}}
N=${2:-${N:?give the number of jobs N}}
SLURM_ARRAY_TASK_ID=$I N=$N exec bash "$(dirname "$0")/generate_array.slurm"
