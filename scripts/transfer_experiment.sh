#!/usr/bin/env bash
# Transfer learning that pays off: fine-tunes Keras Applications' ImageNet MobileNetV2-0.35
# (../shared/data/pretrained/mobilenetv2-035-tfjs, loaded straight from pretrained_model_path)
# on flowers5 (80/20 split, every fifth image of each class to val) and on hymenoptera (its own
# train/val), against the same recipe from random weights, with and without freeze_blocks, and
# prints a Markdown table of the validation accuracies and wall times (the BENCHMARKS.md section
# "Transfer learning").
#
# Recipe: mobilenet_v2, width_multiplier 0.35, relu6, padding_mode keras, 96x96 inputs, tf
# preprocessing, batch 16, SGD momentum 0.9 with TAO's cosine schedule (lr 0.001, 10% warm-up),
# L2 5e-5, random crop and flip, center crop for validation, pure-Go backend.
#
# Usage: scripts/transfer_experiment.sh [OUT_DIR]   (env: EPOCHS_FLOWERS=3 EPOCHS_HYMENOPTERA=5)
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(cd .. && pwd)/shared/data
out=${1:-$(mktemp -d /tmp/bonsai-transfer.XXXX)}
mkdir -p "$out"
go build -o "$out/bonsai" ./cmd/bonsai
pretrained=$data/pretrained/mobilenetv2-035-tfjs/model.json

# flowers5 split: every fifth file of each class (name order) to val, hard links.
if [ ! -d "$out/flowers5/val" ]; then
	for c in "$data"/flowers5/*/; do
		c=$(basename "$c")
		mkdir -p "$out/flowers5/train/$c" "$out/flowers5/val/$c"
		i=0
		for f in $(ls "$data/flowers5/$c" | sort); do
			split=train; [ $((i % 5)) -eq 0 ] && split=val
			ln "$data/flowers5/$c/$f" "$out/flowers5/$split/$c/$f" 2>/dev/null || cp "$data/flowers5/$c/$f" "$out/flowers5/$split/$c/$f"
			i=$((i + 1))
		done
	done
fi

spec() { # dataset_dir epochs pretrained(0/1) freeze(0/1) lr
	local freeze=""
	[ "$4" = 1 ] && freeze="  freeze_blocks: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]"
	local pre=""
	[ "$3" = 1 ] && pre="  pretrained_model_path: \"$pretrained\""
	cat <<SPEC
model_config {
  arch: "mobilenet_v2"
  width_multiplier: 0.35
  padding_mode: "keras"
  use_batch_norm: true
  input_image_size: "3,96,96"
  activation { activation_type: "relu6" }
  batch_norm_config { momentum: 0.99 epsilon: 0.001 }
$freeze
}
train_config {
  train_dataset_path: "$1/train"
  val_dataset_path: "$1/val"
$pre
  optimizer { sgd { lr: $5 momentum: 0.9 } }
  batch_size_per_gpu: 16
  n_epochs: $2
  n_workers: 2
  random_seed: 1
  preprocess_mode: "tf"
  enable_random_crop: true
  enable_center_crop: true
  reg_config { type: "L2" scope: "Conv2D,Dense" weight_decay: 0.00005 }
  lr_config { cosine { learning_rate: $5 min_lr_ratio: 0.01 soft_start: 0.1 } }
}
SPEC
}

echo "| dataset | start | freeze_blocks | lr | epochs | final val acc | best val acc | wall time |"
echo "|---|---|---|---|---|---|---|---|"
for ds in hymenoptera flowers5; do
	dir=$data/hymenoptera; epochs=${EPOCHS_HYMENOPTERA:-5}
	[ "$ds" = flowers5 ] && dir=$out/flowers5 && epochs=${EPOCHS_FLOWERS:-3}
	for run in "1 0 0.001" "0 0 0.001" "1 1 0.001" "0 1 0.001" "0 0 0.01"; do
		set -- $run
		name=$ds-pre$1-freeze$2-lr$3
		spec "$dir" "$epochs" "$1" "$2" "$3" >"$out/$name.cfg"
		start=$SECONDS
		"$out/bonsai" classification train -e "$out/$name.cfg" -r "$out/$name" --backend go >"$out/$name.log" 2>&1
		secs=$((SECONDS - start))
		read -r final best < <(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "val_acc") c = i; next }
			{ v = $c; if (v > b) b = v } END { printf "%.4f %.4f\n", v, b }' "$out/$name/training.csv")
		start_name=random; [ "$1" = 1 ] && start_name="ImageNet (Keras)"
		frz=none; [ "$2" = 1 ] && frz="0-12"
		echo "| $ds | $start_name | $frz | $3 | $epochs | $final | $best | ${secs} s |"
	done
done
