#!/usr/bin/env bash
# Loop timing at the policy file's control_dt, in-process and over Zenoh, side by side:
# the controller process, the plant process and the in-process loop run at the same time,
# so the same machine load hits both loops (each sleeps most of its 50 ms period).
#   bash examples/raw_mujoco_plant/measure.sh [STEPS] [ENDPOINT]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
steps="${1:-1200}"
endpoint="${2:-tcp/127.0.0.1:7447}"
out="$(mktemp -d)"
python "$here/controller_process.py" --listen "$endpoint" >"$out/controller.json" 2>"$out/controller.err" &
controller=$!
trap 'kill -TERM "$controller" 2>/dev/null || true' EXIT
until grep -q '"ready"' "$out/controller.json"; do
    kill -0 "$controller" 2>/dev/null || { cat "$out/controller.err" >&2; exit 1; }
    sleep 0.1
done
python "$here/plant_process.py" --connect "$endpoint" --steps "$steps" --json >"$out/plant.json" &
plant=$!
python "$here/run_in_process.py" --realtime --steps "$steps" --json >"$out/in_process.json"
wait "$plant"
kill -TERM "$controller" && wait "$controller"
trap - EXIT
echo "in-process:         $(cat "$out/in_process.json")"
echo "plant process:      $(cat "$out/plant.json")"
echo "controller process: $(tail -n 1 "$out/controller.json")"
rm -rf "$out"
