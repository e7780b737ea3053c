package spec

import (
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
)

// sampleSpec is TAO's classification_spec.cfg, the base that each case edits.
func sampleSpec(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/classification_spec.cfg")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// edit is a text substitution on the sample spec; replace "" with a
// whole-line edit by giving the line with its newline.
type edit struct{ old, new string }

// in puts text at the start of the named top-level block.
func in(block, text string) edit { return edit{block + " {\n", block + " {\n  " + text + "\n"} }

func apply(t *testing.T, base string, edits []edit) string {
	t.Helper()
	for _, e := range edits {
		if !strings.Contains(base, e.old) {
			t.Fatalf("test bug: %q not in spec", e.old)
		}
		base = strings.Replace(base, e.old, e.new, 1)
	}
	return base
}

var (
	noSGD     = edit{"    sgd {\n    lr: 0.01\n    decay: 0.0\n    momentum: 0.9\n    nesterov: False\n  }\n", ""}
	noStep    = edit{"    step {\n      learning_rate: 0.006\n      step_size: 10\n      gamma: 0.1\n    }\n", ""}
	noNLayers = edit{"  n_layers: 18\n", ""}
)

func withOptimizer(o string) []edit {
	return []edit{noSGD, {"  optimizer {\n", "  optimizer {\n" + o + "\n"}}
}
func withLR(l string) []edit {
	return []edit{noStep, {"  lr_config {\n", "  lr_config {\n" + l + "\n"}}
}

// TestValueRules: every range rule that Load applies has a failing case.
func TestValueRules(t *testing.T) {
	cases := []struct {
		name  string
		edits []edit
		want  string
	}{
		{"arch unknown", []edit{{`arch: "resnet",`, `arch: "resnt",`}}, `spec.cfg:2:3: model_config.arch: unknown arch "resnt"; allowed: resnet, vgg,`},
		{"arch suggestion", []edit{{`arch: "resnet",`, `arch: "mobilenet_v3",`}}, `did you mean "mobilenet_v1"?`},
		{"input size format", []edit{{`"3,224,224"`, `"3,224"`}}, `spec.cfg:9:3: model_config.input_image_size: must be "C,H,W" (three numbers)`},
		{"input size not numbers", []edit{{`"3,224,224"`, `"3,2x4,224"`}}, `must be "C,H,W" with whole numbers`},
		{"input channels", []edit{{`"3,224,224"`, `"2,224,224"`}}, `channels must be 1 or 3, got 2`},
		{"input height", []edit{{`"3,224,224"`, `"3,15,224"`}}, `height must be from 16 to 8192, got 15`},
		{"input width", []edit{{`"3,224,224"`, `"3,224,9000"`}}, `width must be from 16 to 8192, got 9000`},
		{"resnet depth", []edit{{`n_layers: 18`, `n_layers: 17`}}, `spec.cfg:3:3: model_config.n_layers: resnet has no depth 17; allowed: 10, 18, 34, 50, 101, 152, 200`},
		{"darknet depth", []edit{{`arch: "resnet",`, `arch: "darknet",`}}, `darknet has no depth 18; allowed: 19, 53`},
		{"interpolation number", []edit{in("model_config", "resize_interpolation_method: 7")}, `model_config.resize_interpolation_method: unknown value 7`},
		{"dropout", []edit{in("model_config", "dropout: 1.0")}, `model_config.dropout: must be in [0, 1), got 1`},
		{"bn momentum", []edit{in("model_config", "batch_norm_config { momentum: 1.5 }")}, `model_config.batch_norm_config.momentum: must be in [0, 1], got 1.5`},
		{"bn epsilon", []edit{in("model_config", "batch_norm_config { epsilon: -0.001 }")}, `model_config.batch_norm_config.epsilon: must be >= 0, got -0.001`},
		{"activation type", []edit{in("model_config", `activation { activation_parameters { key: "alpha" value: 0.1 } }`)}, `model_config.activation.activation_type: must be set when activation is given`},
		{"padding mode", []edit{in("model_config", `padding_mode: "TAO"`)}, `model_config.padding_mode: unknown padding mode "TAO"; allowed: tf (TensorFlow's SAME), tao (TAO's symmetric SAME), keras (SAME; MobileNets pad as Keras Applications); did you mean "tao"?`},
		{"width multiplier", []edit{in("model_config", `width_multiplier: -0.5`)}, `model_config.width_multiplier: must be >= 0, got -0.5`},
		{"nan", []edit{in("model_config", "dropout: nan")}, `model_config.dropout: must be a finite number, got NaN`},
		{"inf", []edit{{"mixup_alpha: 0.1", "mixup_alpha: inf"}}, `train_config.mixup_alpha: must be a finite number, got +Inf`},
		{"preprocess mode", []edit{{`preprocess_mode: "caffe"`, `preprocess_mode: "cafe"`}}, `spec.cfg:26:3: train_config.preprocess_mode: unknown mode "cafe"; allowed: tf, caffe, torch; did you mean "caffe"?`},
		{"bn regularizer type", []edit{{`scope: "Conv2D,Dense"`, `scope: "Conv2D,Dense" bn_type: "L3"`}}, `train_config.reg_config.bn_type: unknown regularizer "L3"; allowed: L1, L2`},
		{"bn weight decay", []edit{{`scope: "Conv2D,Dense"`, `scope: "Conv2D,Dense" bn_weight_decay: 1.5`}}, `train_config.reg_config.bn_weight_decay: must be in [0, 1), got 1.5`},
		{"distillation without teacher", []edit{{"label_smoothing: 0.0", "label_smoothing: 0.0 distillation { alpha: 0.5 }"}}, `train_config.distillation.teacher_model_path: is required`},
		{"label smoothing negative", []edit{{"label_smoothing: 0.0", "label_smoothing: -0.1"}}, `train_config.label_smoothing: must be in [0, 1), got -0.1`},
		{"label smoothing one", []edit{{"label_smoothing: 0.0", "label_smoothing: 1"}}, `train_config.label_smoothing: must be in [0, 1), got 1`},
		{"mixup", []edit{{"mixup_alpha: 0.1", "mixup_alpha: -0.1"}}, `train_config.mixup_alpha: must be >= 0, got -0.1`},
		{"precision", []edit{{"mixup_alpha: 0.1", `mixup_alpha: 0.1 precision: "bf61"`}}, `train_config.precision: unknown precision "bf61"; allowed: fp32, bf16 (mixed precision); did you mean "bf16"?`},
		{"sgd lr", []edit{{"lr: 0.01", "lr: -0.01"}}, `train_config.optimizer.sgd.lr: must be >= 0, got -0.01`},
		{"sgd decay", []edit{{"decay: 0.0", "decay: -1"}}, `train_config.optimizer.sgd.decay: must be >= 0`},
		{"sgd momentum", []edit{{"momentum: 0.9", "momentum: -0.9"}}, `train_config.optimizer.sgd.momentum: must be >= 0`},
		{"adam lr", withOptimizer("adam { lr: -1 }"), `train_config.optimizer.adam.lr: must be >= 0`},
		{"adam beta_1", withOptimizer("adam { lr: 0.1 beta_1: 1 }"), `train_config.optimizer.adam.beta_1: must be in [0, 1), got 1`},
		{"adam beta_2", withOptimizer("adam { lr: 0.1 beta_2: -0.5 }"), `train_config.optimizer.adam.beta_2: must be in [0, 1), got -0.5`},
		{"adam epsilon", withOptimizer("adam { lr: 0.1 epsilon: -1 }"), `train_config.optimizer.adam.epsilon: must be >= 0`},
		{"adam decay", withOptimizer("adam { lr: 0.1 decay: -1 }"), `train_config.optimizer.adam.decay: must be >= 0`},
		{"rmsprop lr", withOptimizer("rmsprop { lr: -1 }"), `train_config.optimizer.rmsprop.lr: must be >= 0`},
		{"rmsprop rho", withOptimizer("rmsprop { lr: 0.1 rho: -1 }"), `train_config.optimizer.rmsprop.rho: must be >= 0`},
		{"rmsprop epsilon", withOptimizer("rmsprop { lr: 0.1 epsilon: -1 }"), `train_config.optimizer.rmsprop.epsilon: must be >= 0`},
		{"rmsprop decay", withOptimizer("rmsprop { lr: 0.1 decay: -1 }"), `train_config.optimizer.rmsprop.decay: must be >= 0`},
		{"reg type", []edit{{`type: "L2"`, `type: "L2x"`}}, `spec.cfg:33:5: train_config.reg_config.type: unknown regularizer "L2x"; allowed: L1, L2, None; did you mean "L2"?`},
		{"weight decay L2 >= 1", []edit{{"weight_decay: 0.00005", "weight_decay: 1"}}, `train_config.reg_config.weight_decay: must be in [0, 1), got 1`},
		{"weight decay None negative", []edit{{`type: "L2"`, `type: "None"`}, {"weight_decay: 0.00005", "weight_decay: -1"}}, `train_config.reg_config.weight_decay: must be >= 0, got -1`},
		{"step size", []edit{{"step_size: 10", "step_size: 101"}}, `spec.cfg:42:7: train_config.lr_config.step.step_size: must be a percentage from 1 to 100, got 101`},
		{"step gamma", []edit{{"gamma: 0.1", "gamma: 1.5"}}, `train_config.lr_config.step.gamma: must be in [0, 1], got 1.5`},
		{"step lr", []edit{{"learning_rate: 0.006", "learning_rate: -0.006"}}, `train_config.lr_config.step.learning_rate: must be >= 0`},
		{"soft_anneal lr", withLR("soft_anneal { learning_rate: -1 }"), `train_config.lr_config.soft_anneal.learning_rate: must be >= 0`},
		{"soft_start", withLR("soft_anneal { learning_rate: 0.1 soft_start: 1 }"), `train_config.lr_config.soft_anneal.soft_start: must be in [0, 1), got 1`},
		{"divider negative", withLR("soft_anneal { learning_rate: 0.1 annealing_divider: -10 }"), `train_config.lr_config.soft_anneal.annealing_divider: must be >= 0`},
		{"divider zero with points", withLR("soft_anneal { learning_rate: 0.1 annealing_points: 0.5 }"), `train_config.lr_config.soft_anneal.annealing_divider: must be > 0 when annealing_points are given`},
		{"point above 1", withLR("soft_anneal { learning_rate: 0.1 annealing_divider: 10 annealing_points: [0.5, 1.5] }"), `train_config.lr_config.soft_anneal.annealing_points: point 2 is 1.5; points are fractions of training in [0, 1]`},
		{"point before soft_start", withLR("soft_anneal { learning_rate: 0.1 soft_start: 0.3 annealing_divider: 10 annealing_points: [0.2, 0.5] }"), `point 1 is 0.2; points must come after soft_start 0.3`},
		{"points not increasing", withLR("soft_anneal { learning_rate: 0.1 annealing_divider: 10 annealing_points: [0.5, 0.4] }"), `point 2 is 0.4; points must increase (previous 0.5)`},
		{"cosine lr", withLR("cosine { learning_rate: -1 }"), `train_config.lr_config.cosine.learning_rate: must be >= 0`},
		{"cosine min ratio", withLR("cosine { learning_rate: 0.1 min_lr_ratio: 2 }"), `train_config.lr_config.cosine.min_lr_ratio: must be in [0, 1], got 2`},
		{"cosine soft_start", withLR("cosine { learning_rate: 0.1 soft_start: 1 }"), `train_config.lr_config.cosine.soft_start: must be in [0, 1), got 1`},
		{"wandb mode", []edit{in("train_config", "visualizer { wandb_config { mode: 9 } }")}, `train_config.visualizer.wandb_config.mode: unknown value 9`},
		{"image_mean key", []edit{in("train_config", `image_mean { key: "x" value: 1 }`)}, `spec.cfg:12:3: train_config.image_mean: unknown key "x"; keys are r, g, b (color) or l (grayscale)`},
		{"image_mean rgb incomplete", []edit{in("train_config", `image_mean { key: "r" value: 1 } image_mean { key: "g" value: 1 }`)}, `train_config.image_mean: needs r, g and b for 3-channel input; "b" is missing`},
		{"image_std incomplete", []edit{{`preprocess_mode: "caffe"`, `preprocess_mode: "torch"`}, in("train_config", `image_std { key: "r" value: 0.229 }`)}, `train_config.image_std: needs r, g, b for 3-channel input; "g" is missing`},
		{"image_std zero", []edit{{`preprocess_mode: "caffe"`, `preprocess_mode: "torch"`}, in("train_config", `image_std { key: "l" value: 0 }`)}, `train_config.image_std: l must be above 0, got 0`},
		{"image_mean gray", []edit{{`"3,224,224"`, `"1,224,224"`}, in("train_config", `image_mean { key: "r" value: 1 }`)}, `train_config.image_mean: needs l for 1-channel input`},
	}
	base := sampleSpec(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := apply(t, base, c.edits)
			_, err := Parse("spec.cfg", []byte(text))
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("got  %v\nwant %s", err, c.want)
			}
		})
	}
}

// TestRequiredFields: every field a task requires has a failing case.
func TestRequiredFields(t *testing.T) {
	cases := []struct {
		name  string
		task  Task
		edits []edit
		want  string
	}{
		{"model_config", Train, []edit{{"model_config {", "xmodel {"}, {"xmodel {", ""}}, ""},
		{"arch", Train, []edit{{`arch: "resnet",`, ""}}, `spec.cfg:1:1: model_config.arch: must be set; one of resnet, vgg`},
		{"input size", Train, []edit{{`  input_image_size: "3,224,224"` + "\n", ""}}, `model_config.input_image_size: must be set, e.g. "3,224,224"`},
		{"train_dataset_path", Train, []edit{{`train_dataset_path: "/workspace/tao-experiments/data/split/train"`, ""}}, `spec.cfg:11:1: train_config.train_dataset_path: must be set`},
		{"val_dataset_path", Train, []edit{{`val_dataset_path: "/workspace/tao-experiments/data/split/val"`, ""}}, `train_config.val_dataset_path: must be set`},
		{"batch size", Train, []edit{{"batch_size_per_gpu: 64", "batch_size_per_gpu: 0"}}, `spec.cfg:23:3: train_config.batch_size_per_gpu: must be set to a value > 0`},
		{"epochs", Train, []edit{{"n_epochs: 80", ""}}, `train_config.n_epochs: must be set to a value > 0`},
		{"workers", Train, []edit{{"n_workers: 16", ""}}, `train_config.n_workers: must be set to a value > 0`},
		{"preprocess mode", Train, []edit{{`preprocess_mode: "caffe"`, ""}}, `train_config.preprocess_mode: must be set; one of tf, caffe, torch`},
		{"optimizer missing", Train, []edit{noSGD, {"  optimizer {\n}\n", ""}}, `train_config.optimizer: missing; train needs it`},
		{"optimizer empty", Train, []edit{noSGD}, `spec.cfg:15:3: train_config.optimizer: must hold one of sgd, adam, rmsprop`},
		{"sgd lr", Train, []edit{{"lr: 0.01", ""}}, `train_config.optimizer.sgd.lr: must be set to a value > 0`},
		{"adam lr", Train, withOptimizer("adam { beta_1: 0.9 }"), `train_config.optimizer.adam.lr: must be set to a value > 0`},
		{"rmsprop lr", Train, withOptimizer("rmsprop { rho: 0.9 }"), `train_config.optimizer.rmsprop.lr: must be set to a value > 0`},
		{"reg_config", Train, []edit{{"  reg_config {\n    type: \"L2\"\n    scope: \"Conv2D,Dense\"\n    weight_decay: 0.00005\n  }\n", ""}}, `train_config.reg_config: missing; train needs it`},
		{"reg type", Train, []edit{{`type: "L2"`, ""}}, `train_config.reg_config.type: must be set; one of L1, L2, None`},
		{"reg scope", Train, []edit{{`scope: "Conv2D,Dense"`, ""}}, `train_config.reg_config.scope: must be set; e.g. "Conv2D,Dense"`},
		{"weight decay", Train, []edit{{"weight_decay: 0.00005", ""}}, `train_config.reg_config.weight_decay: must be set to a value > 0`},
		{"lr_config missing", Train, []edit{noStep, {"  lr_config {\n  }\n", ""}}, `train_config.lr_config: missing; train needs it`},
		{"lr_config empty", Train, []edit{noStep}, `train_config.lr_config: must hold one of step, soft_anneal, cosine`},
		{"step lr", Train, []edit{{"learning_rate: 0.006", ""}}, `train_config.lr_config.step.learning_rate: must be set to a value > 0`},
		{"step size zero", Train, []edit{{"step_size: 10", "step_size: 0"}}, `spec.cfg:42:7: train_config.lr_config.step.step_size: must be set to a percentage from 1 to 100`},
		{"soft_anneal lr", Train, withLR("soft_anneal { soft_start: 0.1 }"), `train_config.lr_config.soft_anneal.learning_rate: must be set to a value > 0`},
		{"cosine lr", Train, withLR("cosine { soft_start: 0.1 }"), `train_config.lr_config.cosine.learning_rate: must be set to a value > 0`},
		{"eval_config", Evaluate, []edit{{"eval_config {", "train_config {"}}, ""},
		{"top_k", Evaluate, []edit{{"top_k: 3", ""}}, `eval_config.top_k: must be set to a value > 0`},
		{"eval dataset", Evaluate, []edit{{`eval_dataset_path: "/workspace/tao-experiments/data/split/test"`, ""}}, `eval_config.eval_dataset_path: must be set`},
		{"model_path", Evaluate, []edit{{`model_path: "/workspace/tao-experiments/classification_tf1/output/weights/resnet_080.hdf5"`, ""}}, `eval_config.model_path: must be set`},
		{"eval batch", Evaluate, []edit{{"batch_size: 256", ""}}, `eval_config.batch_size: must be set to a value > 0`},
		{"eval workers", Evaluate, []edit{{"n_workers: 8", ""}}, `eval_config.n_workers: must be set to a value > 0`},
		{"evaluate needs model_config arch", Evaluate, []edit{{`arch: "resnet",`, ""}}, `model_config.arch: must be set`},
		{"inference needs input size", Inference, []edit{{`  input_image_size: "3,224,224"` + "\n", ""}}, `model_config.input_image_size: must be set`},
	}
	base := sampleSpec(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := apply(t, base, c.edits)
			if c.name == "model_config" {
				text = text[strings.Index(text, "train_config {"):]
				c.want = "spec.cfg: model_config: missing; this task needs it"
			}
			if c.name == "eval_config" {
				text = text[:strings.Index(text, "train_config {\n  eval_dataset_path")]
				c.want = "spec.cfg: eval_config: missing; evaluate needs it"
			}
			e, err := Parse("spec.cfg", []byte(text))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			err = e.Validate(c.task)
			if err == nil {
				t.Fatalf("Validate(%s): no error, want %q", c.task, c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("got  %v\nwant %s", err, c.want)
			}
		})
	}
}

func TestRelaxedRequirements(t *testing.T) {
	base := sampleSpec(t)
	// reg type None needs neither scope nor weight_decay.
	text := apply(t, base, []edit{{`type: "L2"`, `type: "None"`}, {`scope: "Conv2D,Dense"`, ""}, {"weight_decay: 0.00005", ""}})
	e, err := Parse("spec.cfg", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Validate(Train); err != nil {
		t.Errorf("reg None: %v", err)
	}
	// evaluate needs no train_config; prune and export need nothing.
	evalOnly := "model_config { arch: \"resnet\" input_image_size: \"3,32,32\" }\n" +
		"eval_config { top_k: 1 eval_dataset_path: \"t\" model_path: \"m\" batch_size: 8 n_workers: 1 }\n"
	e, err = Parse("eval.cfg", []byte(evalOnly))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Validate(Evaluate); err != nil {
		t.Errorf("evaluate without train_config: %v", err)
	}
	if err := e.Validate(Train); err == nil {
		t.Error("train without train_config passed")
	}
	empty, _ := Parse("empty.cfg", nil)
	for _, task := range []Task{Prune, Export} {
		if err := empty.Validate(task); err != nil {
			t.Errorf("%s on empty spec: %v", task, err)
		}
	}
}

func TestAllProblemsReportedInFileOrder(t *testing.T) {
	text := apply(t, sampleSpec(t), []edit{{"n_epochs: 80", "n_epochs: 0"}, {"batch_size_per_gpu: 64", "batch_size_per_gpu: 0"}, {"top_k: 3", ""}})
	e, err := Parse("spec.cfg", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	err = e.Validate(Train)
	es, ok := err.(Errors)
	if !ok || len(es) != 2 {
		t.Fatalf("want 2 errors, got %v", err)
	}
	if es[0].Field != "train_config.batch_size_per_gpu" || es[1].Field != "train_config.n_epochs" || es[0].Line >= es[1].Line {
		t.Errorf("order: %v", err)
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) != 2 {
		t.Errorf("want one line per problem: %q", err.Error())
	}
}

func TestWarnings(t *testing.T) {
	cases := []struct {
		name  string
		edits []edit
		want  string
	}{
		{"label smoothing", []edit{{"label_smoothing: 0.0", "label_smoothing: 0.1"}}, "spec.cfg:29:3: train_config.label_smoothing: TAO 5 ignores a nonzero label_smoothing"},
		{"model parallelism", []edit{in("train_config", "model_parallelism: [50, 50]")}, "train_config.model_parallelism: model parallelism is not supported"},
		{"byom", []edit{in("model_config", `byom_model: "x.tltb"`)}, "model_config.byom_model: TAO bring-your-own-model files"},
		{"scope not trimmed by TAO", []edit{{`scope: "Conv2D,Dense"`, `scope: "Conv2D, Dense"`}}, `train_config.reg_config.scope: TAO does not trim scope entries, so it ignores " Dense" and trains without that penalty; Bonsai trims it and applies it to Dense`},
		{"width multiplier", []edit{in("model_config", `width_multiplier: 0.5`)}, "model_config.width_multiplier: applies to mobilenet_v1 and mobilenet_v2 only; ignored for resnet"},
		{"scope entry", []edit{{`scope: "Conv2D,Dense"`, `scope: "Conv2D,Dence"`}}, `train_config.reg_config.scope: "Dence" is not Conv2D or Dense and is ignored (as in TAO); did you mean "Dense"?`},
		{"vgg default depth", []edit{{`arch: "resnet",`, `arch: "vgg",`}, noNLayers}, "spec.cfg:1:1: model_config.n_layers: not set; using vgg's depth 16 (TAO would use 18, which vgg does not have)"},
		{"fixed depth arch", []edit{{`arch: "resnet",`, `arch: "mobilenet_v2",`}}, "model_config.n_layers: mobilenet_v2 has a fixed depth; n_layers is ignored"},
		{"adam zeros", withOptimizer("adam { lr: 0.1 beta_1: 0.8 }"), "train_config.optimizer.adam: beta_2, epsilon not set; using Keras' defaults"},
		{"rmsprop zeros", withOptimizer("rmsprop { lr: 0.1 }"), "train_config.optimizer.rmsprop: epsilon, rho not set"},
		{"std in caffe mode", []edit{in("train_config", `image_std { key: "r" value: 1 }`)}, `train_config.image_std: image_std is used only in torch mode; it is ignored in "caffe" mode`},
		{"mean in tf mode", []edit{{`preprocess_mode: "caffe"`, `preprocess_mode: "tf"`}, in("train_config", `image_mean { key: "r" value: 1 }`)}, "train_config.image_mean: image_mean is used only in caffe mode; it is ignored in tf mode"},
		{"wandb", []edit{in("train_config", "visualizer { wandb_config { enabled: true } }")}, "train_config.visualizer.wandb_config: not supported: Bonsai does not log to Weights & Biases"},
		{"clearml", []edit{in("train_config", `visualizer { clearml_config { project: "p" } }`)}, "train_config.visualizer.clearml_config: not supported: Bonsai does not log to ClearML"},
		{"resnet activation", []edit{in("model_config", `activation { activation_type: "swish" }`)}, "model_config.activation: TAO builds resnet with ReLU whatever activation_type says; Bonsai uses swish as written"},
		{"efficientnet_b0 activation", []edit{{`arch: "resnet",`, `arch: "efficientnet_b0",`}, in("model_config", `activation { activation_type: "relu" }`)}, "model_config.activation: TAO's efficientnet_b0 ignores activation_type (a keyword typo in its template) and uses swish; Bonsai uses relu as written"},
		{"mobilenet_v1 dropout", []edit{{`arch: "resnet",`, `arch: "mobilenet_v1",`}, in("model_config", "dropout: 0.3")}, "model_config.dropout: TAO's mobilenet_v1 does not use model_config.dropout (only vgg's retain_head head does); Bonsai ignores it too"},
	}
	base := sampleSpec(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := Parse("spec.cfg", []byte(apply(t, base, c.edits)))
			if err != nil {
				t.Fatal(err)
			}
			ws := strings.Join(e.Warnings(), "\n")
			if !strings.Contains(ws, c.want) {
				t.Errorf("warnings %q\nwant %s", ws, c.want)
			}
		})
	}
}

func TestImageMeanByModeAndChannels(t *testing.T) {
	cases := []struct {
		spec string
		want []float64
	}{
		{`model_config { input_image_size: "3,32,32" } train_config { preprocess_mode: "caffe" }`, []float64{103.939, 116.779, 123.68}},
		{`model_config { input_image_size: "1,32,32" } train_config { preprocess_mode: "caffe" }`, []float64{117.3786}},
		{`model_config { input_image_size: "1,32,32" } train_config { preprocess_mode: "caffe" image_mean { key: "l" value: 90.5 } }`, []float64{90.5}},
		{`model_config { input_image_size: "3,32,32" } train_config { preprocess_mode: "caffe" image_mean [{ key: "r" value: 1 }, { key: "g" value: 2 }, { key: "b" value: 3 }] }`, []float64{3, 2, 1}},
		{`model_config { input_image_size: "3,32,32" } train_config { preprocess_mode: "torch" }`, nil},
		{`model_config { input_image_size: "3,32,32" } train_config { preprocess_mode: "tf" image_mean { key: "r" value: 1 } }`, nil},
	}
	for _, c := range cases {
		e, err := Parse("m.cfg", []byte(c.spec))
		if err != nil {
			t.Fatal(err)
		}
		if got := e.ImageMean(); !equalFloats(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.spec, got, c.want)
		}
	}
}

// TAO divides every channel by 0.224 in torch mode (gray too); image_std overrides it.
func TestImageStdByModeAndChannels(t *testing.T) {
	cases := []struct {
		spec string
		want map[string]float32
	}{
		{`model_config { input_image_size: "3,32,32" } train_config { preprocess_mode: "torch" }`, map[string]float32{"r": 0.224, "g": 0.224, "b": 0.224}},
		{`model_config { input_image_size: "1,32,32" } train_config { preprocess_mode: "torch" }`, map[string]float32{"l": 0.224}},
		{`model_config { input_image_size: "1,32,32" } train_config { preprocess_mode: "torch" image_std { key: "l" value: 0.226 } }`, map[string]float32{"l": 0.226}},
		{`model_config { input_image_size: "3,32,32" } train_config { preprocess_mode: "caffe" }`, nil},
	}
	for _, c := range cases {
		e, err := Parse("m.cfg", []byte(c.spec))
		if err != nil {
			t.Fatal(err)
		}
		if got := e.ImageStd(); !maps.Equal(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("%s: got %v, want %v", c.spec, got, c.want)
		}
	}
}

// TestTAOActivationNotes: a note exactly where TAO's template ignores what the spec asks.
func TestTAOActivationNotes(t *testing.T) {
	cases := []struct {
		arch, typ string
		params    map[string]float32
		note      bool
	}{
		{"resnet", "relu", nil, false},
		{"resnet", "relu6", nil, true},
		{"mobilenet_v2", "swish", nil, true},
		{"darknet", "leaky_relu", nil, false},
		{"darknet", "leaky_relu", map[string]float32{"alpha": 0.1}, false},
		{"darknet", "leaky_relu", map[string]float32{"alpha": 0.2}, true},
		{"darknet", "mish", nil, true},
		{"cspdarknet", "mish", nil, false},
		{"cspdarknet_tiny", "leaky_relu", map[string]float32{"alpha": 0.2}, true},
		{"efficientnet_b0", "swish", nil, false},
		{"efficientnet_b0", "relu", nil, true},
		{"efficientnet_b1", "relu", nil, false},
		{"squeezenet", "relu6", nil, false},
	}
	for _, c := range cases {
		if got := taoActivationNote(c.arch, c.typ, c.params); (got != "") != c.note {
			t.Errorf("%s %s %v: note %q, want a note: %v", c.arch, c.typ, c.params, got, c.note)
		}
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLRScheduleDescriptions(t *testing.T) {
	cases := []struct{ lr, want string }{
		{"step { learning_rate: 0.006 step_size: 10 gamma: 0.1 }", "step: lr = 0.006 * 0.1^(progress / 10%), decaying smoothly"},
		{"soft_anneal { learning_rate: 0.05 soft_start: 0.056 annealing_divider: 10 annealing_points: [0.3, 0.6, 0.8] }",
			"soft_anneal: linear 0.0003 -> 0.05 until progress 0.056, then divided by 10 at progress [0.3, 0.6, 0.8]"},
		{"cosine { learning_rate: 0.04 min_lr_ratio: 0.01 soft_start: 0.1 }", "cosine: linear 0.0004 -> 0.04 until progress 0.1, then cosine down to 0.0004"},
		{"", "no learning-rate schedule"},
	}
	for _, c := range cases {
		e, err := Parse("lr.cfg", []byte("train_config { lr_config { "+c.lr+" } }"))
		if err != nil {
			t.Fatal(err)
		}
		if got := e.LRSchedule().String(); !strings.HasPrefix(got, c.want) {
			t.Errorf("got %q, want prefix %q", got, c.want)
		}
	}
}

func TestNLayersDefaultPerArch(t *testing.T) {
	for arch, want := range map[string]int{"resnet": 18, "vgg": 16, "darknet": 19, "cspdarknet": 19, "mobilenet_v2": 18, "": 18} {
		e, err := Parse("n.cfg", []byte(`model_config { arch: "`+arch+`" }`))
		if err != nil {
			t.Fatal(err)
		}
		if got := e.NLayers(); got != want {
			t.Errorf("%q: NLayers %d, want %d", arch, got, want)
		}
	}
}

func TestParseInputSize(t *testing.T) {
	if got, err := ParseInputSize(" 3, 224,160"); err != nil || got != [3]int{3, 224, 160} {
		t.Errorf("ParseInputSize = %v, %v", got, err)
	}
	for _, bad := range []string{"3,224", "3,x,224", "3,-1,4", ""} {
		if _, err := ParseInputSize(bad); err == nil {
			t.Errorf("ParseInputSize(%q) accepted", bad)
		}
	}
}

func TestDefaultDepth(t *testing.T) {
	for arch, want := range map[string]int{"resnet": 18, "vgg": 16, "darknet": 19, "mobilenet_v2": DefaultNLayers} {
		if got := DefaultDepth(arch); got != want {
			t.Errorf("DefaultDepth(%s) = %d, want %d", arch, got, want)
		}
	}
}

// TestCheckpointIntervalDefault: unset, an 80-epoch run writes every 4th epoch (20 files).
func TestCheckpointIntervalDefault(t *testing.T) {
	for epochs, want := range map[int]int{1: 1, 20: 1, 21: 2, 80: 4, 120: 6} {
		e, err := Parse("x.cfg", []byte(fmt.Sprintf("train_config { n_epochs: %d }", epochs)))
		if err != nil {
			t.Fatal(err)
		}
		if got := e.CheckpointInterval(); got != want {
			t.Errorf("n_epochs %d: interval %d, want %d", epochs, got, want)
		}
	}
}

func TestModelDiff(t *testing.T) {
	parse := func(text string) *Experiment {
		e, err := Parse("x.cfg", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	base := `model_config { arch: "resnet" input_image_size: "3,32,32" } train_config { n_epochs: 3 optimizer { sgd { lr: 0.1 } } }`
	old := parse(base)
	if d := ModelDiff(old, parse(strings.NewReplacer("n_epochs: 3", "n_epochs: 9", `arch: "resnet"`, `arch: "resnet" n_layers: 18`).Replace(base))); len(d) != 0 {
		t.Errorf("n_epochs and the default depth made explicit are the same model: %v", d)
	}
	d := ModelDiff(old, parse(strings.Replace(base, `input_image_size: "3,32,32"`, `input_image_size: "3,64,64" n_layers: 34`, 1)))
	want := []string{`model_config.input_image_size: "3,32,32" -> "3,64,64"`, `model_config.n_layers: 18 -> 34`}
	if strings.Join(d, "\n") != strings.Join(want, "\n") {
		t.Errorf("diff = %q, want %q", d, want)
	}
	recorded, err := ParseRecorded("model_config:\n  arch: vgg\n")
	if err != nil || recorded.Arch() != "vgg" {
		t.Errorf("YAML spec recorded in a model file: %v %v", recorded, err)
	}
}
