#!/bin/bash
# Trains bundled recipes side by side on one GPU machine and brings every model back, even when the
# call's time runs out: at DEADLINE seconds the runs still going are stopped (SIGTERM: they
# checkpoint) and each run folder is exported from its checkpoint. Used with the device tool:
#
#   python scripts/pack_for_device.py bricks wood rock grass --out gpu_data    # here; gpu_data/ ignored
#   run: MINUTES=7 DEADLINE=480 bash scripts/device_train.sh bricks wood rock grass   carry: gpu_data
#   python scripts/train_bundled.py bricks --from-model runs/gpu/bricks.ganart.pt --data-note "..."
#
# CONTINUE="ground metal": for these names run only the recipe's sittings the bundled file has not run
# (train_bundled.py --continue-from); the models it starts from must travel with the tree.
#
# What one H200 did with eight such runs at once (256 px crops, batch 16; their progress lines):
# ~4.5 steps/s each, training from ~45 s in (torch, data, the SWD floor). With MINUTES=7 and a
# 540 s call, the runs' own ends (final SWD, samples, export) did not fit in the ~75 s left, so
# leave DEADLINE ≥ 60·MINUTES + 60 and the call's timeout ≥ DEADLINE + 60 for the exports. With
# MINUTES=7.5, DEADLINE=520 and a 590 s call, the colour runs exported themselves at ~560 s but the
# full-material runs' exports had not finished at 590 s: keep 90 s or more after DEADLINE.
set -u
MINUTES=${MINUTES:-7}
PYTHON=${PYTHON:-python3}  # the device machine's python3 holds torch
DEADLINE=${DEADLINE:-480}
export PYTHONUNBUFFERED=1
mkdir -p /tmp/logs /tmp/models /tmp/runs
nvidia-smi -L
for name in "$@"; do
  from=()
  [[ " ${CONTINUE:-} " == *" $name "* ]] && from=(--continue-from "blender_ganart/models/$name.ganart.pt")
  "$PYTHON" scripts/train_bundled.py "$name" "${from[@]}" --data gpu_data --runs /tmp/runs --out /tmp/models --device "${DEVICE:-cuda}" \
    --threads 2 --max-minutes "$MINUTES" > "/tmp/logs/$name.txt" 2>&1 &
done
for _ in $(seq "$DEADLINE"); do
  [ -z "$(jobs -r)" ] && break
  sleep 1
done
# A stopped run checkpoints after its current step; a finished one may still be exporting itself:
# wait for both, so each run is exported once (four exports at once took 45 s on the H200).
pkill -TERM -f "trainer train"
wait
for run in /tmp/runs/*/; do
  name=$(basename "$run")
  [ -f "/tmp/models/${name#bundled-}.ganart.pt" ] || "$PYTHON" -m trainer export "$run" --out "/tmp/models/$name.ganart.pt" \
    --name "$name" --license "see data/manifest.json" >> "/tmp/logs/$name.txt" 2>&1 &
done
wait
tail -n 3 /tmp/logs/*.txt
# At most 8 files of 16 MiB come back: four 3.9 MB models per tar.
cd /tmp/models && ls ./*.ganart.pt | split -l 4 - /tmp/batch_
for list in /tmp/batch_*; do tar cf "$OUT/models_${list#/tmp/batch_}.tar" $(cat "$list"); done
cd /tmp/runs && tar czf "$OUT/runs.tgz" /tmp/logs ./*/config.json ./*/run.json ./*/metrics.jsonl
ls -la "$OUT"
