#!/usr/bin/env bash
# Rebuild the pre-trained models shipped in made_viz/assets/pretrained/ (offered on the Train page under
# "Load a pre-trained model") with the made-viz command line, then write index.json from the
# JSON summary each training prints (test NLL with mask 0 and with the ensemble of K masks).
#
#   scripts/make_pretrained.sh            # all models (the MNIST one takes ~5-15 min on 2 cores)
#   scripts/make_pretrained.sh digits8    # only some
#   scripts/make_pretrained.sh --index    # only rewrite index.json from the *.train.json summaries
#
# One CPU thread (--threads 1) keeps each run deterministic; the seed is fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=made_viz/assets/pretrained
mkdir -p "$OUT"
if command -v made-viz >/dev/null 2>&1; then MADE=(made-viz); else MADE=(python -m made_viz.cli); fi

declare -A ARGS=(
  # 8x8 digits: order-agnostic training, 4 random orderings (the ensemble gains about 1 nat)
  [digits8]="digits8 --hidden 128,128 --masks 4 --order random --no-direct --lr 3e-3 --lr-schedule none --weight-decay 0 --epochs 600 --patience 30 --seed 0"
  # the seed article's model: 2 hidden layers of 500, K = 4 masks (each its own random ordering and hidden
  # degrees: order-agnostic training), direct connections, trained on the paper's 50,000 binarized MNIST
  # digits with the CLI's recipe (Adam 1e-3, L2 1e-4, cosine schedule over 30 epochs, early stopping)
  [mnist]="mnist --hidden 500,500 --masks 4 --order random --direct --lr 1e-3 --lr-schedule cosine --epochs 30 --weight-decay 1e-4 --patience 10 --seed 0"
  # bars and stripes 4x4: gets within a few hundredths of a nat of the exact entropy ln 30
  [bars4]="bars4 --hidden 100,100 --masks 1 --order natural --no-direct --lr 3e-3 --lr-schedule none --weight-decay 0 --epochs 100 --patience 10 --seed 0"
)
NAMES=("$@")
[ ${#NAMES[@]} -eq 0 ] && NAMES=(digits8 mnist bars4)
[ "${NAMES[0]}" = "--index" ] && NAMES=()

for name in "${NAMES[@]+"${NAMES[@]}"}"; do
  [ -n "${ARGS[$name]:-}" ] || { echo "unknown model $name (one of ${!ARGS[*]})" >&2; exit 2; }
  echo "== $name: made-viz train ${ARGS[$name]} --threads 1 --out $OUT/$name.safetensors" >&2
  # shellcheck disable=SC2086
  "${MADE[@]}" train ${ARGS[$name]} --threads 1 --quiet --json --out "$OUT/$name.safetensors" | tail -n 1 > "$OUT/$name.train.json"
  rm -f "$OUT/$name.pt"                # an older torch-zip copy of the same model
  chmod 644 "$OUT/$name.safetensors"   # the checkpoint writer creates private (0600) files
done

# index.json: one entry per model present (made_viz.pretrained reads it)
python - "$OUT" <<'EOF'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
about = {
    "digits8": ("8x8 digits: 2 x 128 hidden, 4 random orderings",
                "Order-agnostic MADE on the UCI 8x8 digits (binarized): two hidden layers of 128, "
                "K = 4 masks with random orderings, Adam lr 3e-3, early stopping."),
    "mnist": ("MNIST 28x28: 2 x 500 hidden, 4 random orderings, direct connections (seed article)",
              "The seed article's model: two hidden layers of 500 on the paper's 50,000 binarized MNIST "
              "digits, K = 4 masks (each its own random ordering), direct input-output connections, Adam lr 1e-3 "
              "with L2 1e-4 on a cosine schedule over 30 epochs."),
    "bars4": ("Bars and stripes 4x4: 2 x 100 hidden, 1 mask",
              "One MADE with two hidden layers of 100 on bars and stripes 4x4; its test NLL sits just "
              "above the exact entropy ln 30 = 3.401 nats."),
}
entries = []
for name in ("digits8", "mnist", "bars4"):
    summary_file = out / f"{name}.train.json"
    ckpt = next((out / f"{name}{ext}" for ext in (".safetensors", ".pt") if (out / f"{name}{ext}").is_file()), out / "-")
    if not (summary_file.is_file() and summary_file.stat().st_size and ckpt.is_file()):
        continue
    s = json.loads(summary_file.read_text())
    k = int(s["config"]["num_masks"])
    title, description = about[name]
    entries.append({
        "name": name, "title": title, "dataset": s["data"], "description": description,
        "test_nll_1": round(s["test_nll"], 4),
        "test_nll_ensemble": round(s["test_nll_ensemble"] if s["test_nll_ensemble"] is not None else s["test_nll"], 4),
        "K": k, "command": "", "file": ckpt.name, "size_bytes": ckpt.stat().st_size,
        "train_seconds": round(s["seconds"], 1),
    })
# the exact commands (kept in sync with the ARGS table above by reading this script)
script = Path("scripts/make_pretrained.sh").read_text()
for e in entries:
    line = next(l for l in script.splitlines() if l.strip().startswith(f"[{e['name']}]="))
    args = line.split("=", 1)[1].strip().strip('"')
    e["command"] = f"made-viz train {args} --threads 1 --out {out}/{e['file']}"
(out / "index.json").write_text(json.dumps(entries, indent=2) + "\n")
print(f"wrote {out / 'index.json'} ({len(entries)} models)", file=sys.stderr)
EOF
