#!/bin/bash
# Submits the shard array, then the merge as a job that starts when every array task has ended.
#   INPUT=/shared/dicom OUT=/shared/out deploy/slurm/submit.sh
set -euo pipefail
here=$(dirname "$0")
array=$(sbatch --parsable --export=ALL "$here/dcmflow-array.sbatch")
sbatch --export=ALL --dependency=afterany:"$array" "$here/dcmflow-merge.sbatch"
