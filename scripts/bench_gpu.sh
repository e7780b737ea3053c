#!/usr/bin/env bash
# The GPU checks of issue 16 as one prepared script for the GPU machine (reference/gpu.md). It
# builds nothing: it takes a bonsai binary built with cgo on the development machine
# (CGO_ENABLED=1 go build -o bin/bonsai-cgo ./cmd/bonsai) and runs every check under its own
# time limit, logging each to $OUT/<check>.log, then prints a table for BENCHMARKS.md last.
#
#   scripts/bench_gpu.sh [BONSAI_BINARY]                  # default bin/bonsai-cgo
#   PHASES="doctor bench torch" scripts/bench_gpu.sh ...  # a subset (each phase < 5 minutes)
#   CPU=1 scripts/bench_gpu.sh bin/bonsai                 # dry run on the CPU, tiny sizes
#
# Phases (in order; PHASES picks some):
#   doctor    bonsai doctor finds the CUDA plugin and the GPU
#   bench     ResNet-18 at 224 px, batch 64 and 256, fp32 and bf16, data on the device
#             (bonsai bench), and the data-parallel (SPMD) program with one replica
#   torch     the same in PyTorch (torchvision resnet18, eager): NCHW fp32, channels_last fp32,
#             channels_last with bf16 autocast
#   e2e       training end to end from JPEG files (a generated folder), same sizes
#   accuracy  train / evaluate / inference / prune-sweep from image files on the GPU, and the
#             same training on the CPU (pure Go) with the same spec and seed
#
# Environment: OUT (default ./bench-gpu-out), PY (PyTorch's python, default
# /opt/torch/.venv/bin/python; CPU=1: /usr/bin/python3), BACKEND (default: JAX's CUDA plugin by
# path, as gpu.md; CPU=1: go), SIZE, BATCHES, STEPS, E2E_SIZE, E2E_IMAGES, E2E_EPOCHS,
# E2E_PRECISIONS (default "fp32 bf16"), ACC_SIZE,
# ACC_TRAIN, ACC_VAL, ACC_EPOCHS, ACC_BATCH, TIMEOUT_SCALE (multiplies every limit). Results
# accumulate in $OUT/results.tsv, so phases run in separate invocations share one table.
# Exit status: the number of failed checks (0: all passed).
set -uo pipefail

BONSAI=${1:-bin/bonsai-cgo}
CPU=${CPU:-0}
PHASES=${PHASES:-doctor bench torch e2e accuracy}
OUT=${OUT:-bench-gpu-out}
SCRIPTS=$(cd "$(dirname "$0")" && pwd)
TIMEOUT_SCALE=${TIMEOUT_SCALE:-1}

if [ "$CPU" = 1 ]; then
	BACKEND=${BACKEND:-go}
	PY=${PY:-/usr/bin/python3}
	TORCH_DEVICE="cpu --threads $(nproc)"
	SIZE=${SIZE:-32} BATCHES=${BATCHES:-4 8} STEPS=${STEPS:-2} WARMUP=1
	E2E_SIZE=${E2E_SIZE:-48} E2E_IMAGES=${E2E_IMAGES:-32} E2E_EPOCHS=${E2E_EPOCHS:-2}
	ACC_SIZE=${ACC_SIZE:-32} ACC_TRAIN=${ACC_TRAIN:-12} ACC_VAL=${ACC_VAL:-4} ACC_EPOCHS=${ACC_EPOCHS:-2} ACC_BATCH=${ACC_BATCH:-8}
else
	S=/opt/torch/.venv/lib/python3.12/site-packages
	export LD_LIBRARY_PATH=$S/nvidia/cu13/lib:$S/nvidia/cudnn/lib:$S/nvidia/nccl/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export XLA_FLAGS=${XLA_FLAGS:---xla_gpu_cuda_data_dir=/usr/local/cuda}
	export GOPJRT_CUDA_CHECKS=0 GOMLX_NO_AUTO_INSTALL=1
	BACKEND=${BACKEND:-xla:$S/jax_plugins/xla_cuda13/xla_cuda_plugin.so}
	PY=${PY:-/opt/torch/.venv/bin/python}
	TORCH_DEVICE="cuda --cudnn_benchmark"
	SIZE=${SIZE:-224} BATCHES=${BATCHES:-64 256} STEPS=${STEPS:-20} WARMUP=3
	E2E_SIZE=${E2E_SIZE:-320} E2E_IMAGES=${E2E_IMAGES:-3072} E2E_EPOCHS=${E2E_EPOCHS:-3}
	ACC_SIZE=${ACC_SIZE:-64} ACC_TRAIN=${ACC_TRAIN:-200} ACC_VAL=${ACC_VAL:-40} ACC_EPOCHS=${ACC_EPOCHS:-6} ACC_BATCH=${ACC_BATCH:-32}
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RESULTS=$OUT/results.tsv # check, key, value: what the table reads
[ -f "$RESULTS" ] || : >"$RESULTS"
failed=0

note() { printf '%s\n' "$*" | tee -a "$OUT/summary.log"; }

# check NAME SECONDS CMD...: runs CMD under timeout, output in $OUT/NAME.log; records rc and time.
check() {
	local name=$1 limit=$2
	shift 2
	limit=$((limit * TIMEOUT_SCALE))
	local start=$SECONDS
	timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
	local rc=$?
	local took=$((SECONDS - start))
	record "$name" rc "$rc"
	record "$name" seconds "$took"
	if [ "$rc" = 0 ]; then
		note "ok    $name (${took}s)"
	else
		[ "$rc" = 124 ] && note "TIME  $name: over ${limit}s" || note "FAIL  $name: exit $rc (${took}s), see $OUT/$name.log"
		tail -n 5 "$OUT/$name.log" | sed 's/^/      /' | tee -a "$OUT/summary.log"
		failed=$((failed + 1))
	fi
	return "$rc"
}

record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; }
value() { awk -F'\t' -v c="$1" -v k="$2" '$1 == c && $2 == k { v = $3 } END { print v }' "$RESULTS"; }

# rate LOG WHAT: the img/s of the "WHAT: first step ..." line of bonsai bench or bench_torch.py.
rate() { sed -n "s/^$2: first step .* \([0-9.]*\) img\/s .*/\1/p" "$1" | tail -n 1; }
first() { sed -n "s/^$2: first step \([0-9.]*\) s.*/\1/p" "$1" | tail -n 1; }

# bench_case NAME ARGS...: bonsai bench, recording train (and infer) img/s and the first step.
bench_case() {
	local name=$1
	shift
	check "$name" 420 "$BONSAI" bench --backend "$BACKEND" --arch resnet --n_layers 18 --size "$SIZE" \
		--steps "$STEPS" --warmup "$WARMUP" "$@" || return
	record "$name" train "$(rate "$OUT/$name.log" train)"
	record "$name" first "$(first "$OUT/$name.log" train)"
	record "$name" infer "$(rate "$OUT/$name.log" infer)"
}

torch_case() {
	local name=$1
	shift
	# shellcheck disable=SC2086 # TORCH_DEVICE holds flags
	check "$name" 300 "$PY" "$SCRIPTS/bench_torch.py" --device $TORCH_DEVICE --arch resnet --n_layers 18 \
		--size "$SIZE" --steps "$STEPS" --warmup "$WARMUP" "$@" || return
	record "$name" train "$(rate "$OUT/$name.log" train)"
	record "$name" infer "$(rate "$OUT/$name.log" infer)"
}

# spec FILE DATA SIZE BATCH EPOCHS LAYERS: a TAO spec training a ResNet on DATA/train, DATA/val.
spec() {
	cat >"$1" <<EOF
model_config {
  arch: "resnet"
  n_layers: $6
  use_batch_norm: true
  use_pooling: true
  input_image_size: "3,$3,$3"
  batch_norm_config { momentum: 0.9 epsilon: 0.001 }
}
train_config {
  train_dataset_path: "$2/train"
  val_dataset_path: "$2/val"
  optimizer { sgd { lr: 0.05 momentum: 0.9 } }
  batch_size_per_gpu: $4
  n_epochs: $5
  n_workers: $(nproc)
  random_seed: 42
  preprocess_mode: "torch"
  enable_random_crop: true
  enable_center_crop: true
  reg_config { type: "L2" scope: "Conv2D,Dense" weight_decay: 0.00005 }
  lr_config { cosine { learning_rate: 0.05 min_lr_ratio: 0.01 soft_start: 0.1 } }
}
eval_config {
  eval_dataset_path: "$2/val"
  top_k: 1
  batch_size: $4
  n_workers: $(nproc)
}
EOF
}

# epoch_rate LOG: the best training img/s of the epochs after the first (cached, compiled).
epoch_rate() { sed -n 's/^Epoch \([0-9]*\)\/.* - \([0-9.]*\) img\/s.*/\1 \2/p' "$1" | awk '$1 > 1 && $2 > m { m = $2 } END { print m }'; }
epoch1_rate() { sed -n 's/^Epoch 1\/.* - \([0-9.]*\) img\/s.*/\1/p' "$1" | tail -n 1; }
val_acc() { sed -n 's/^Total Val accuracy: \([0-9.]*\).*/\1/p' "$1" | tail -n 1; }

phase_doctor() {
	check doctor 120 "$BONSAI" doctor || return
	if [ "$CPU" != 1 ] && ! grep -q '^Backend:  xla:cuda' "$OUT/doctor.log"; then
		note "FAIL  doctor: the auto backend is not xla:cuda"
		failed=$((failed + 1))
	fi
}

phase_bench() {
	for b in $BATCHES; do
		bench_case "bonsai_b${b}_fp32" --batch "$b" --precision fp32
		bench_case "bonsai_b${b}_bf16" --batch "$b" --precision bf16 --no_infer
	done
	local b0=${BATCHES%% *}
	bench_case "bonsai_b${b0}_fp32_spmd1" --batch "$b0" --precision fp32 --spmd --no_infer
}

phase_torch() {
	for b in $BATCHES; do
		torch_case "torch_b${b}_fp32_nchw" --batch "$b" --no_infer
		torch_case "torch_b${b}_fp32_cl" --batch "$b" --channels_last
		torch_case "torch_b${b}_bf16_cl" --batch "$b" --channels_last --amp bf16 --no_infer
	done
}

phase_e2e() {
	local data=$OUT/jpegs classes=8
	if [ ! -d "$data/train" ]; then
		check e2e_make_jpegs 300 "$PY" "$SCRIPTS/make_jpegs.py" --out "$data" --classes $classes \
			--train $((E2E_IMAGES / classes)) --val 8 --size "$E2E_SIZE" || return
	fi
	for b in $BATCHES; do
		for p in ${E2E_PRECISIONS:-fp32 bf16}; do
			local name="e2e_b${b}_$p" amp=()
			[ "$p" = bf16 ] && amp=(--use_amp)
			spec "$OUT/$name.cfg" "$data" "$SIZE" "$b" "$E2E_EPOCHS" 18
			rm -rf "$OUT/$name"
			check "$name" 480 "$BONSAI" classification train -e "$OUT/$name.cfg" -r "$OUT/$name" --backend "$BACKEND" "${amp[@]}" || continue
			record "$name" train "$(epoch_rate "$OUT/$name.log")"
			record "$name" epoch1 "$(epoch1_rate "$OUT/$name.log")"
		done
	done
}

phase_accuracy() {
	local data=$OUT/acc_jpegs
	if [ ! -d "$data/train" ]; then
		check acc_make_jpegs 120 "$PY" "$SCRIPTS/make_jpegs.py" --out "$data" --classes 5 --train "$ACC_TRAIN" \
			--val "$ACC_VAL" --size $((ACC_SIZE * 3 / 2)) --seed 7 || return
	fi
	local cfg=$OUT/acc.cfg
	spec "$cfg" "$data" "$ACC_SIZE" "$ACC_BATCH" "$ACC_EPOCHS" 10
	rm -rf "$OUT/acc_gpu" "$OUT/acc_cpu" "$OUT/acc_eval" "$OUT/acc_infer" "$OUT/acc_sweep"
	if check acc_train_gpu 420 "$BONSAI" classification train -e "$cfg" -r "$OUT/acc_gpu" --backend "$BACKEND"; then
		record acc_train_gpu val_acc "$(val_acc "$OUT/acc_train_gpu.log")"
		local best=$OUT/acc_gpu/weights/best.safetensors
		check acc_evaluate_gpu 180 "$BONSAI" classification evaluate -e "$cfg" -m "$best" -r "$OUT/acc_eval" --backend "$BACKEND" &&
			record acc_evaluate_gpu top1 "$(sed -n 's/^Evaluation Top K accuracy: \([0-9.]*\).*/\1/p' "$OUT/acc_evaluate_gpu.log")"
		check acc_inference_gpu 180 "$BONSAI" classification inference -m "$best" -d "$data/val" -r "$OUT/acc_infer" -b 16 --backend "$BACKEND"
		check acc_prune_sweep_gpu 300 "$BONSAI" classification prune-sweep -m "$best" -o "$OUT/acc_sweep" --thresholds 0.3,0.6 -e "$cfg" --backend "$BACKEND"
	fi
	check acc_train_cpu 420 "$BONSAI" classification train -e "$cfg" -r "$OUT/acc_cpu" --backend go &&
		record acc_train_cpu val_acc "$(val_acc "$OUT/acc_train_cpu.log")"
}

# row CHECK LABEL BONSAI_VALUE BASELINE_LABEL BASELINE_VALUE RULE: one table row; RULE "ge" wants
# value >= baseline, "ge0.8" value >= 0.8 x baseline, "near0.05" |value - baseline| <= 0.05.
row() {
	local label=$1 v=$2 blabel=$3 bv=$4 rule=$5 verdict="-" ratio="-"
	if [ -n "$v" ] && [ -n "$bv" ]; then
		ratio=$(awk -v a="$v" -v b="$bv" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
		verdict=$(awk -v a="$v" -v b="$bv" -v r="$rule" 'BEGIN {
			if (r == "ge") ok = a >= b; else if (r == "ge0.8") ok = a >= 0.8 * b; else if (r == "ge0.9") ok = a >= 0.9 * b;
			else if (r == "near0.05") ok = (a - b <= 0.05 && b - a <= 0.05); else { print "-"; exit }
			print ok ? "pass" : "FAIL" }')
		[ "$verdict" = FAIL ] && failed=$((failed + 1))
	fi
	printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "${v:--}" "$blabel" "${bv:--}" "$ratio" "$verdict"
}

table() {
	echo
	echo "## GPU checks ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 || echo "no GPU"), CPU=$CPU)"
	echo
	echo "| check | Bonsai | baseline | value | ratio | verdict |"
	echo "|---|---|---|---|---|---|"
	for b in $BATCHES; do
		row "train b$b fp32, data on device (img/s)" "$(value "bonsai_b${b}_fp32" train)" "PyTorch eager channels_last fp32" "$(value "torch_b${b}_fp32_cl" train)" ge
		row "train b$b bf16, data on device (img/s)" "$(value "bonsai_b${b}_bf16" train)" "PyTorch channels_last bf16 autocast" "$(value "torch_b${b}_bf16_cl" train)" ge
		row "train b$b fp32 (img/s)" "$(value "bonsai_b${b}_fp32" train)" "PyTorch eager NCHW fp32" "$(value "torch_b${b}_fp32_nchw" train)" info
		row "inference b$b fp32 (img/s)" "$(value "bonsai_b${b}_fp32" infer)" "PyTorch eager channels_last fp32" "$(value "torch_b${b}_fp32_cl" infer)" info
		for p in fp32 bf16; do
			row "train b$b $p from JPEG, epochs 2+ (img/s)" "$(value "e2e_b${b}_$p" train)" "Bonsai, data on device" "$(value "bonsai_b${b}_$p" train)" ge0.8
			row "train b$b $p from JPEG, epoch 1 incl. compile (img/s)" "$(value "e2e_b${b}_$p" epoch1)" "Bonsai, data on device" "$(value "bonsai_b${b}_$p" train)" info
			row "first step b$b $p, compile + run (s)" "$(value "bonsai_b${b}_$p" first)" "" "" info
		done
	done
	local b0=${BATCHES%% *}
	row "train b$b0 fp32, SPMD program, 1 replica (img/s)" "$(value "bonsai_b${b0}_fp32_spmd1" train)" "plain program" "$(value "bonsai_b${b0}_fp32" train)" ge0.9
	row "val accuracy, $ACC_EPOCHS epochs, backend $BACKEND" "$(value acc_train_gpu val_acc)" "same spec and seed on the CPU (pure Go)" "$(value acc_train_cpu val_acc)" near0.05
	row "evaluate top-1 of best (GPU)" "$(value acc_evaluate_gpu top1)" "" "" info
	for c in doctor acc_inference_gpu acc_prune_sweep_gpu; do
		local rc
		rc=$(value "$c" rc)
		row "$c exit status" "${rc:-not run}" "" "" info
	done
	echo
	echo "Logs: $OUT. Backend $BACKEND; binary $BONSAI."
}

note "bench_gpu.sh: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), phases: $PHASES, CPU=$CPU, binary $BONSAI, backend $BACKEND, out $OUT"
if [ ! -x "$BONSAI" ]; then
	note "no executable $BONSAI: build it on the development machine (CGO_ENABLED=1 go build -o bin/bonsai-cgo ./cmd/bonsai)"
	exit 1
fi
for phase in $PHASES; do
	case $phase in
	doctor | bench | torch | e2e | accuracy) "phase_$phase" ;;
	*) note "unknown phase $phase (want doctor bench torch e2e accuracy)" && failed=$((failed + 1)) ;;
	esac
done
table >"$OUT/table.md"
cat "$OUT/table.md"
exit "$failed"
