// Package spec owns the experiment spec: its schema (proto/experiment.proto,
// generated Go in specpb), loading from TAO's protobuf text format or YAML,
// TAO's effective defaults, and validation with file:line:col errors.
//
// # Formats
//
// A spec is TAO classification_tf1's Experiment message (model_config,
// train_config, eval_config) with TAO's field names and numbers, so TAO's
// sample specs load unchanged. Files ending in .yaml or .yml hold the same
// fields as nested YAML mappings (TAO 5 style); repeated fields are YAML lists,
// maps (image_mean) are mappings, enums are names in any case. Anything else
// is protobuf text format.
//
// # Use
//
//	e, err := spec.LoadFor(path, spec.Train) // parse, range rules, train's required fields
//	for _, w := range e.Warnings() { fmt.Fprintln(os.Stderr, "warning:", w) }
//	c, h, w := e.InputSize(); n := e.NLayers(); mean := e.ImageMean()
//
// Proto holds the fields as written; the methods give effective values.
//
// # Errors
//
// Every error names the file and, where it can be found, the line and column:
// "spec.cfg:3:3: unknown field "n_layer" in model_config; did you mean
// "n_layers"?". Validation reports all problems at once, one per line, each
// with the dotted field path.
//
// # Effective defaults
//
// proto3 cannot tell 0 from unset, so TAO substitutes values in code. The
// Experiment methods apply the same substitutions:
//
//	model_config.n_layers                0 -> 18 (NLayers); for vgg 16, darknet and
//	                                     cspdarknet 19, where TAO's 18 would fail
//	model_config.batch_norm_config       unset -> momentum 0.9, epsilon 1e-5;
//	                                     a 0 field inside it also takes the
//	                                     default (TAO would pass 0 on)
//	train_config.image_mean (caffe)      unset -> B,G,R 103.939, 116.779, 123.68;
//	                                     grayscale 117.3786 (ImageMean)
//	train_config.image_std (torch)       unset -> 0.224 for every channel, gray
//	                                     too, as TAO divides (ImageStd)
//	lr_config.soft_anneal                warm-up starts at 3e-4 (LRSchedule)
//	disable_horizontal_flip              false -> random flips on (HorizontalFlip)
//
// Bonsai's own choice where TAO passes a 0 to Keras that makes no sense:
// adam beta_1 0 -> 0.9, beta_2 0 -> 0.999, epsilon 0 -> 1e-7; rmsprop rho
// 0 -> 0.9, epsilon 0 -> 1e-7 (Optimizer). Load warns when this happens.
//
// # Paths
//
// TAO uses dataset and model paths as written (its samples use absolute
// paths). Bonsai resolves a relative path against the folder of the spec file,
// so a spec and its data can move together; absolute paths are unchanged. Use
// the accessor methods (TrainDatasetPath, ModelPath, ...), not Proto, to read
// paths.
//
// # Validation
//
// Load checks every value that is set, whatever the task (TAO's
// constants.py ranges plus the asserts in train.py and the LR schedulers):
// arch in Archs; n_layers a depth the arch has (resnet 10..200, vgg 16/19,
// darknet and cspdarknet 19/53); input_image_size "C,H,W" with C 1 or 3 and
// 16 <= H,W <= 8192; preprocess_mode tf, caffe or torch; 0 <= dropout,
// label_smoothing < 1; mixup_alpha, momentum, decay, epsilon, rho >= 0;
// 0 <= beta_1, beta_2 < 1; batch-norm momentum in [0,1]; reg type L1, L2 or
// None (any case) with 0 <= weight_decay < 1 for L1/L2; step: step_size <= 100
// and gamma in [0,1]; soft_anneal: soft_start in [0,1), annealing points in
// [0,1], increasing and after soft_start, divider > 0 when points are given;
// cosine: min_lr_ratio in [0,1], soft_start in [0,1); image_mean keys r,g,b
// (all three in caffe mode with 3 channels) or l; no NaN or infinity anywhere.
//
// Validate(task) then checks the fields a task needs:
//
//	train      model_config.{arch, input_image_size}; train_config.{train_dataset_path,
//	           val_dataset_path, batch_size_per_gpu, n_epochs, n_workers,
//	           preprocess_mode, optimizer (one kind, lr > 0), reg_config (type;
//	           scope and weight_decay > 0 unless None), lr_config (one kind,
//	           learning_rate > 0, step_size >= 1 for step)}
//	evaluate   model_config.{arch, input_image_size}; eval_config.{top_k,
//	           eval_dataset_path, model_path, batch_size, n_workers}
//	inference  model_config.{arch, input_image_size}
//	prune      nothing (the model file carries the network)
//	export     nothing
//
// # Differences from TAO
//
//   - TAO merges a field written twice (the last value wins); Bonsai reports
//     it, since it is almost always a mistake.
//   - TAO's evaluate and inference demand a complete train_config; Bonsai does
//     not (the model file records the preprocessing).
//   - TAO demands scope and weight_decay even for reg type "None"; Bonsai
//     does not. TAO accepts step_size 0 and then divides by zero; Bonsai
//     refuses it.
//   - TAO ignores a nonzero label_smoothing (a bug); Bonsai applies it and
//     warns. Unknown reg_config scope entries are ignored by both; Bonsai warns.
//   - reg_config.scope entries are trimmed: TAO splits "Conv2D, Dense" on ','
//     and then ignores " Dense" (a bug); Bonsai regularises Dense and warns.
//     As in TAO, "Conv2D" means that exact layer type: depthwise kernels are
//     never regularised.
//   - image_mean keys other than r, g, b, l are errors (TAO ignores them).
//
// # Bonsai extensions (field numbers above 1000)
//
//   - train_config.distillation { teacher_model_path temperature alpha }:
//     knowledge distillation from a teacher model; temperature defaults to 4
//     and alpha to 0.5, in [0, 1]; the teacher path is required.
//   - train_config.checkpoint_interval: write weights/<arch>_NNN every this
//     many epochs and at the last (best and last every epoch); unset, every
//     epoch up to 20 epochs, else n_epochs/20 rounded up, so that an 80-epoch
//     ResNet-18 run keeps 20 epoch files (weights only) and stays under 2 GB.
//   - train_config.precision: "fp32" (default) or "bf16", mixed precision
//     (bfloat16 compute; float32 master weights, batch norm statistics and
//     optimizer state), what TAO's --use_amp flag asks for. XLA backends (GPUs)
//     use it; the pure-Go CPU backend trains in float32 and says so.
//   - train_config.sync_bn: with several GPUs (--gpus N), batch norm uses the
//     statistics of the whole batch instead of each GPU's share (TAO: per GPU).
//   - train_config.image_std { key: "r" value: 0.229 } ... (keys r, g, b or
//     l, values > 0, torch mode only): torch mode's std per channel, e.g.
//     torchvision's 0.229, 0.224, 0.225; unset, TAO's 0.224 for every channel.
//   - reg_config.bn_type ("L1"/"L2"; empty: as type) and bn_weight_decay in
//     [0, 1): a penalty on batch norm gammas (network slimming), so that
//     channels the model does not need fade and prune --criterion bn (which
//     ranks channels by |gamma|) finds them.
//   - model_config.width_multiplier: MobileNet's alpha (0 means 1), so that
//     Keras Applications' MobileNetV2-0.35 weights fit mobilenet_v2.
//   - model_config.padding_mode: "tf" (default, TensorFlow's SAME), "tao"
//     (TAO's symmetric SAME padding; average pools count the padding), to
//     train and evaluate with TAO's numerics, or "keras" (tf, with MobileNets
//     padding strided layers as Keras Applications does, for its weights).
package spec
