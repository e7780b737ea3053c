#!/usr/bin/env bash
# Issue 17's recorded experiment: does pruning to at most half the parameters keep accuracy?
# For each architecture and seed: train N epochs, prune to TARGET of the parameters with TAO's
# algorithm (the threshold searched for the target: --allocation threshold) and with Bonsai's
# default (--target_ratio with -e SPEC: the sensitivity allocation), retrain each pruned model N
# epochs with the original schedule (learning-rate rewinding), and measure top-1 on the test
# split before and after. Prints a table of means and spreads over the seeds, with parameters,
# FLOPs and the measured in-memory CPU inference speed-up (BenchmarkPredictModelFiles, batch 32,
# pure-Go backend, the first seed's models one after another, ROUNDS=5 rounds: the median img/s
# and the median of each round's speed-up over the unpruned model).
#
# Usage: scripts/prune_quality.sh [WORKDIR] (default /tmp/bonsai_prune_quality)
# Environment:
#   DATASET  fashion (default: the bundled Fashion-MNIST subset, 1x28x28, 70/10/20 split) or
#            flowers5 (../shared/data/flowers5 at 3x32x32, 70/10/20 split)
#   ARCHS    architectures, "arch:n_layers" (default fashion: resnet:10; flowers5:
#            "resnet:18 mobilenet_v2:0")
#   SEEDS    "1 2 3"; EPOCHS (fashion 4, flowers5 6) for training and for each retraining
#   TARGET   0.5; METHODS "tao new"; TEACHER 1 also retrains "new" with distillation (new_kd)
#   BACKEND  go
# Finished runs in WORKDIR are reused, so an interrupted run continues where it stopped.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/bonsai_prune_quality}
DATASET=${DATASET:-fashion}
SEEDS=${SEEDS:-1 2 3}
TARGET=${TARGET:-0.5}
METHODS=${METHODS:-tao new}
BACKEND=${BACKEND:-go}
TEACHER=${TEACHER:-0}
if [ "$DATASET" = fashion ]; then
  ARCHS=${ARCHS:-resnet:10}
  EPOCHS=${EPOCHS:-4}
  input="1,28,28" mode=tf
else
  ARCHS=${ARCHS:-resnet:18 mobilenet_v2:0}
  EPOCHS=${EPOCHS:-6}
  input="3,32,32" mode=torch
fi
[ "$TEACHER" = 1 ] && METHODS="$METHODS new_kd"
mkdir -p "$work"
bonsai=$work/bonsai
(cd "$repo" && go build -o "$bonsai" ./cmd/bonsai)

data=$work/$DATASET
if [ ! -d "$data/split/train" ]; then
  if [ "$DATASET" = fashion ]; then
    "$bonsai" dataset idx --images "$repo/testdata/fashion-mnist-mini/images-idx3-ubyte.gz" \
      --labels "$repo/testdata/fashion-mnist-mini/labels-idx1-ubyte.gz" --class-names fashion-mnist --out "$data/formatted" >/dev/null
    src=$data/formatted
  else
    src=$repo/../shared/data/flowers5
    [ -d "$src" ] || { echo "flowers5 not found at $src" >&2; exit 1; }
  fi
  "$bonsai" dataset split --in "$src" --out "$data/split" --train 0.7 --val 0.1 --test 0.2 --seed 42 >/dev/null
fi

# spec PATH ARCH NLAYERS SEED [PRETRAINED]: the demo's recipe (SGD nesterov, cosine lr 0.05 with
# warm-up, L2 5e-5 on the kernels, batch 32); the retraining uses the same schedule.
spec() {
  cat > "$1" <<SPEC
model_config {
  arch: "$2"
  n_layers: $3
  use_batch_norm: true
  all_projections: true
  input_image_size: "$input"
}
train_config {
  train_dataset_path: "$data/split/train"
  val_dataset_path: "$data/split/val"
  pretrained_model_path: "${5:-}"
  optimizer { sgd { lr: 0.01 momentum: 0.9 nesterov: true } }
  batch_size_per_gpu: 32
  n_epochs: $EPOCHS
  n_workers: 2
  random_seed: $4
  preprocess_mode: "$mode"
  reg_config { type: "L2" scope: "Conv2D,Dense" weight_decay: 0.00005 }
  lr_config { cosine { learning_rate: 0.05 min_lr_ratio: 0.01 soft_start: 0.1 } }
}
eval_config {
  eval_dataset_path: "$data/split/test"
  top_k: 1
  batch_size: 64
  n_workers: 2
}
SPEC
}

top1() { "$bonsai" classification evaluate -e "$1" -m "$2" --backend "$BACKEND" 2>/dev/null | sed -n 's/^Evaluation Top K accuracy: //p'; }

rows=$work/rows_$DATASET.tsv
[ -f "$rows" ] || printf "arch\tseed\tmethod\tparams\tflops\ttop1_before\ttop1_after\n" > "$rows"
for a in $ARCHS; do
  arch=${a%%:*} n=${a##*:}
  name=$arch$n
  for seed in $SEEDS; do
    dir=$work/$DATASET/$name/seed$seed
    mkdir -p "$dir"
    spec "$dir/train.cfg" "$arch" "$n" "$seed"
    base=$dir/train/weights/last.safetensors
    [ -f "$base" ] || "$bonsai" classification train -e "$dir/train.cfg" -r "$dir/train" --backend "$BACKEND" > "$dir/train.log" 2>&1
    if ! grep -q "^$name	$seed	unpruned	" "$rows"; then
      acc=$(top1 "$dir/train.cfg" "$base")
      "$bonsai" classification prune -m "$base" -o "$dir/tao.safetensors" --target_ratio "$TARGET" --allocation threshold > "$dir/prune_tao.log"
      printf "%s\t%s\tunpruned\t%s\t%s\t%s\t%s\n" "$name" "$seed" \
        "$(sed -n 's/^params \([0-9]*\) -> .*/\1/p' "$dir/prune_tao.log")" "$(sed -n 's/.*FLOPs \([0-9]*\) -> .*/\1/p' "$dir/prune_tao.log")" "$acc" "$acc" >> "$rows"
    fi
    for m in $METHODS; do
      grep -q "^$name	$seed	$m	" "$rows" && continue
      pruned=$dir/${m%_kd}.safetensors
      case $m in
        tao) [ -f "$pruned" ] || "$bonsai" classification prune -m "$base" -o "$pruned" --target_ratio "$TARGET" --allocation threshold > "$dir/prune_tao.log" ;;
        new) "$bonsai" classification prune -m "$base" -o "$pruned" --target_ratio "$TARGET" -e "$dir/train.cfg" --backend "$BACKEND" > "$dir/prune_new.log" ;;
      esac
      before=$(top1 "$dir/train.cfg" "$pruned")
      spec "$dir/retrain_$m.cfg" "$arch" "$n" "$seed" "$pruned"
      teacher=()
      [ "$m" = new_kd ] && teacher=(--teacher "$base")
      "$bonsai" classification train -e "$dir/retrain_$m.cfg" -r "$dir/retrain_$m" --backend "$BACKEND" "${teacher[@]}" > "$dir/retrain_$m.log" 2>&1
      after=$(top1 "$dir/retrain_$m.cfg" "$dir/retrain_$m/weights/last.safetensors")
      log=$dir/prune_${m%_kd}.log
      printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$name" "$seed" "$m" \
        "$(sed -n 's/^params [0-9]* -> \([0-9]*\),.*/\1/p' "$log")" "$(sed -n 's/.*FLOPs [0-9]* -> \([0-9]*\),.*/\1/p' "$log")" "$before" "$after" >> "$rows"
      echo "$name seed $seed $m: top-1 before retraining $before, after $after"
    done
  done
done

# In-memory inference speed of the first seed's models, one after another.
speed=$work/speed_$DATASET.txt
first=${SEEDS%% *}
models=""
for a in $ARCHS; do
  name=${a%%:*}${a##*:}
  dir=$work/$DATASET/$name/seed$first
  models=$models,$dir/train/weights/last.safetensors
  for m in $METHODS; do models=$models,$dir/retrain_$m/weights/last.safetensors; done
done
(cd "$repo" && go test -c -o "$work/prune.test" ./prune)
: > "$speed"
for round in $(seq "${ROUNDS:-5}"); do # interleaved rounds: each compares models measured together
  BONSAI_BENCH_MODELS=${models#,} "$work/prune.test" -test.run - -test.bench PredictModelFiles -test.benchtime 20x | grep img/s >> "$speed"
done

# The table: means and sample standard deviations over the seeds.
names=$(for a in $ARCHS; do printf "%s " "${a%%:*}${a##*:}"; done)
python3 - "$rows" "$speed" "$METHODS" "$names" > "$work/table_$DATASET.md" <<'PY'
import sys, statistics as st, re, collections
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
methods = ["unpruned"] + sys.argv[3].split()
archs = sys.argv[4].split()
nmodels = len(methods) * len(archs)
vals = [float(m.group(1)) for m in re.finditer(r"\s([0-9.]+) img/s", open(sys.argv[2]).read())]
rounds = [vals[i:i + nmodels] for i in range(0, len(vals) - nmodels + 1, nmodels)]
by = collections.defaultdict(list)
base = {}
for arch, seed, m, params, flops, before, after in rows:
    by[arch, m].append((int(params), int(flops), float(before), float(after), seed))
    if m == "unpruned":
        base[arch, seed] = (int(params), int(flops), float(after))
def ms(xs):
    return f"{100*st.mean(xs):.2f} ± {100*st.stdev(xs):.2f}" if len(xs) > 1 else f"{100*xs[0]:.2f}"
print("| model | method | params (kept), mean over seeds | FLOPs (kept) | CPU img/s (speed-up: median, range over rounds) | top-1 before retraining | top-1 after retraining | change vs unpruned, points | seeds |")
print("|---|---|---|---|---|---|---|---|---|")
i = 0
for arch in archs:
    for m in methods:
        v = by.get((arch, m))
        if not v:
            continue
        p = st.mean(x[0] for x in v)
        f = st.mean(x[1] for x in v)
        pr = st.mean(x[0] / base[arch, x[4]][0] for x in v)
        fr = st.mean(x[1] / base[arch, x[4]][1] for x in v)
        j0 = i - methods.index(m)
        sp = st.median(r[i] for r in rounds)
        ups = [r[i] / r[j0] for r in rounds]
        up = f"{st.median(ups):.2f}x, {min(ups):.2f}-{max(ups):.2f}"
        i += 1
        delta = [a - base[arch, seed][2] for _, _, _, a, seed in v]
        dtxt = "-" if m == "unpruned" else (f"{100*st.mean(delta):+.2f} ± {100*st.stdev(delta):.2f}" if len(delta) > 1 else f"{100*delta[0]:+.2f}")
        print(f"| {arch} | {m} | {p:,.0f} ({pr:.3f}) | {f/1e6:.2f} M ({fr:.3f}) | {sp:.0f} ({up}) | "
              f"{ms([b for _, _, b, _, _ in v]) if m != 'unpruned' else '-'} | {ms([a for _, _, _, a, _ in v])} | {dtxt} | {len(v)} |")
PY
cat "$work/table_$DATASET.md"
echo "rows: $rows; table: $work/table_$DATASET.md; speed: $speed"
