#!/usr/bin/env bash
# Bonsai's pure-Go engine against PyTorch on the CPU, interleaved in one sitting: for each
# architecture, training (64x64, batch 16) and inference (224x224, batch 8) images/second of
# `bonsai bench --backend go` (GOMAXPROCS=$THREADS) and of scripts/bench_torch.py (PyTorch with
# $THREADS threads), one after the other, $ROUNDS rounds. Writes a Markdown table for
# BENCHMARKS.md: images/s per round, images per CPU-second, GFLOP/s (multiply-adds x2, training
# counted as 3x the forward pass), and Bonsai/PyTorch ratios of images/s and of FLOP-normalised
# throughput (images/s x multiply-adds per image, which differ a little between the TAO and
# torchvision forms). Ratios use the best round of each program (the least disturbed); the
# same-round ratios (Bonsai's round r against PyTorch's round r) and their median are given too,
# as the load moves between rounds. ROUNDS=5 makes that median worth reading.
#
# Run it on a quiet machine: when other processes take the cores, PyTorch's OpenMP threads
# (which spin at every barrier) lose several times more than Bonsai's goroutines, and its
# images per CPU-second fall too. The load average at the start and end is in the output.
#
# Usage: scripts/bench_cpu.sh [OUT.md]
# Environment:
#   BONSAI    bonsai binary (default: built from this tree into a temporary directory)
#   BASELINE  a second bonsai binary measured the same way (e.g. an earlier commit), optional
#   PYTHON    python with torch and torchvision (default /usr/bin/python3, Debian's python3-torch)
#   ARCHS     default "resnet18 resnet50 mobilenet_v2 efficientnet_b0 darknet53 vgg16"
#   ROUNDS (2), THREADS (2), TRAIN_STEPS (5), INFER_STEPS (3), WARMUP (1)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-}
PYTHON=${PYTHON:-/usr/bin/python3}
ARCHS=${ARCHS:-"resnet18 resnet50 mobilenet_v2 efficientnet_b0 darknet53 vgg16"}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-2}
TRAIN_STEPS=${TRAIN_STEPS:-5}
INFER_STEPS=${INFER_STEPS:-3}
WARMUP=${WARMUP:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "${BONSAI:-}" ]; then
	go build -o "$tmp/bonsai" ./cmd/bonsai
	BONSAI=$tmp/bonsai
fi
if ! "$PYTHON" -c 'import torch, torchvision' 2>/dev/null; then
	echo "bench_cpu.sh: $PYTHON cannot import torch and torchvision (apt-get install python3-torch python3-torchvision, or set PYTHON)" >&2
	exit 1
fi

# arch_flags NAME: the --arch/--n_layers flags of both programs.
arch_flags() {
	case $1 in
	resnet*) echo "--arch resnet --n_layers ${1#resnet}" ;;
	darknet*) echo "--arch darknet --n_layers ${1#darknet}" ;;
	vgg*) echo "--arch vgg --n_layers ${1#vgg}" ;;
	*) echo "--arch $1" ;;
	esac
}

log=$tmp/log.tsv
# measure LABEL ARCH TASK ROUND COMMAND...: runs the command, appends "label arch task round
# img/s img-per-cpu-s macs" to the log (the MACs from the header line).
measure() {
	local label=$1 arch=$2 task=$3 round=$4
	shift 4
	local text
	if ! text=$("$@" 2>&1); then
		echo "$text" >&2
		echo "bench_cpu.sh: $label $arch $task failed" >&2
		exit 1
	fi
	local macs line
	macs=$(echo "$text" | grep -o '[0-9]* MACs per image' | head -1 | cut -d' ' -f1 || true)
	line=$(echo "$text" | grep -E '^(train|infer):' | tail -1)
	local ips cps
	ips=$(echo "$line" | sed -E 's/.*: ([0-9.]+) img\/s.*/\1/')
	cps=$(echo "$line" | sed -E 's/.*; ([0-9.]+) img per CPU-second.*/\1/')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$arch" "$task" "$round" "$ips" "$cps" "$macs" >>"$log"
	printf '%-9s %-16s %-5s round %s: %8s img/s %8s img/CPU-s\n' "$label" "$arch" "$task" "$round" "$ips" "$cps" >&2
}

start_load=$(cut -d' ' -f1-3 /proc/loadavg)
start_time=$(date -u '+%Y-%m-%d %H:%M UTC')
for round in $(seq "$ROUNDS"); do
	for arch in $ARCHS; do
		flags=$(arch_flags "$arch")
		for task in train infer; do
			if [ "$task" = train ]; then
				shape="--batch 16 --size 64 --steps $TRAIN_STEPS --warmup $WARMUP --no_infer"
			else
				shape="--batch 8 --size 224 --steps $INFER_STEPS --warmup $WARMUP --no_train"
			fi
			# shellcheck disable=SC2086 # flags and shape are word lists
			measure bonsai "$arch" $task "$round" env GOMAXPROCS="$THREADS" "$BONSAI" bench --backend go $flags $shape
			if [ -n "${BASELINE:-}" ]; then
				# shellcheck disable=SC2086
				measure baseline "$arch" $task "$round" env GOMAXPROCS="$THREADS" "$BASELINE" bench --backend go $flags $shape
			fi
			# shellcheck disable=SC2086
			measure pytorch "$arch" $task "$round" "$PYTHON" scripts/bench_torch.py --threads "$THREADS" $flags $shape
		done
	done
done
end_load=$(cut -d' ' -f1-3 /proc/loadavg)

"$PYTHON" - "$log" "$start_time" "$start_load" "$end_load" "$THREADS" "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" <<'EOF' | tee ${out:+"$out"}
import collections
import statistics
import sys

log, when, load0, load1, threads, cores, cpu = sys.argv[1:8]
rows = collections.defaultdict(list)  # (label, arch, task) -> [(ips, cps, macs)]
archs, labels = [], []
for line in open(log):
    label, arch, task, _, ips, cps, macs = line.rstrip("\n").split("\t")
    rows[label, arch, task].append((float(ips), float(cps), int(macs or 0)))
    if arch not in archs:
        archs.append(arch)
    if label not in labels:
        labels.append(label)


def best(label, arch, task):
    runs = rows[label, arch, task]
    return max(r[0] for r in runs), max(r[1] for r in runs), runs[0][2]


def rounds(label, arch, task):
    return " / ".join(f"{r[0]:.1f}" for r in rows[label, arch, task])


print(f"Machine: {cores}-core {cpu}, {when}; load average {load0} at the start, {load1} at the end.")
print(f"Bonsai `bonsai bench --backend go` against PyTorch (scripts/bench_torch.py, {threads} threads), "
      "interleaved; training 64x64 batch 16, inference 224x224 batch 8, synthetic data in memory.")
print()
head = "| arch | task |"
sep = "|---|---|"
for label in labels:
    name = {"bonsai": "Bonsai", "baseline": "baseline", "pytorch": "PyTorch"}[label]
    head += f" {name} img/s |"
    sep += "---|"
head += (" Bonsai img/CPU-s | PyTorch img/CPU-s | Bonsai GFLOP/s | PyTorch GFLOP/s | ratio img/s | ratio FLOP-normalised |"
         " same-round ratios FLOP-normalised (median) |")
sep += "---|---|---|---|---|---|---|"
if "baseline" in labels:
    head += " baseline ratio FLOP-normalised |"
    sep += "---|"
print(head)
print(sep)
for arch in archs:
    for task in ("train", "infer"):
        if not rows["bonsai", arch, task]:
            continue
        factor = 3 if task == "train" else 1  # forward + backward ~ 3x the forward FLOPs
        bi, bc, bm = best("bonsai", arch, task)
        ti, tc, tm = best("pytorch", arch, task)
        cells = [arch, "train 64px bs16" if task == "train" else "infer 224px bs8"]
        cells += [rounds(label, arch, task) for label in labels]
        cells += [f"{bc:.1f}", f"{tc:.1f}", f"{2 * factor * bi * bm / 1e9:.1f}", f"{2 * factor * ti * tm / 1e9:.1f}",
                  f"{bi / ti:.2f}x", f"{bi * bm / (ti * tm):.2f}x"]
        # Each round runs the programs one after the other: the ratio within a round is the
        # least exposed to the load drifting between rounds.
        same = [b[0] * bm / (t[0] * tm) for b, t in zip(rows["bonsai", arch, task], rows["pytorch", arch, task])]
        cells.append(" / ".join(f"{r:.2f}" for r in same) + f" ({statistics.median(same):.2f}x)")
        if "baseline" in labels:
            ai, _, am = best("baseline", arch, task)
            am = am or bm  # older binaries do not print their MACs
            cells.append(f"{ai * am / (ti * tm):.2f}x")
        print("| " + " | ".join(cells) + " |")
EOF
