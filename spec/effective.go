package spec

import (
	"google.golang.org/protobuf/proto"

	"github.com/bonsai-ml/bonsai/spec/specpb"
)

// Effective returns a copy of the spec with the effective defaults written
// in and paths resolved, so that it means the same without this package (for
// example when recorded in a model file). Blocks absent from the spec stay
// absent.
func (e *Experiment) Effective() *specpb.Experiment {
	out := proto.Clone(e.Proto).(*specpb.Experiment)
	if mc := out.GetModelConfig(); mc != nil {
		mc.NLayers = uint32(e.NLayers())
		mc.BatchNormConfig = &specpb.BatchNormConfig{Momentum: float32(e.BNMomentum()), Epsilon: float32(e.BNEpsilon())}
		mc.ByomModel = e.BYOMModelPath()
	}
	if tc := out.GetTrainConfig(); tc != nil {
		tc.TrainDatasetPath = e.TrainDatasetPath()
		tc.ValDatasetPath = e.ValDatasetPath()
		tc.PretrainedModelPath = e.PretrainedModelPath()
		e.writeImageMean(tc)
		tc.ImageStd = e.ImageStd()
		e.writeOptimizerDefaults(tc.GetOptimizer())
		if d := tc.GetDistillation(); d != nil {
			eff := e.Distillation()
			tc.Distillation = &specpb.DistillationConfig{TeacherModelPath: eff.TeacherPath,
				Temperature: float32(eff.Temperature), Alpha: float32(eff.Alpha)}
		}
	}
	if ec := out.GetEvalConfig(); ec != nil {
		ec.EvalDatasetPath = e.EvalDatasetPath()
		ec.ModelPath = e.ModelPath()
	}
	return out
}

// writeImageMean writes the caffe-mode mean that applies into image_mean.
func (e *Experiment) writeImageMean(tc *specpb.TrainConfig) {
	mean := e.ImageMean()
	switch {
	case mean == nil:
	case len(mean) == 1:
		tc.ImageMean = map[string]float32{"l": float32(mean[0])}
	default:
		tc.ImageMean = map[string]float32{"b": float32(mean[0]), "g": float32(mean[1]), "r": float32(mean[2])}
	}
}

func (e *Experiment) writeOptimizerDefaults(o *specpb.OptimizerConfig) {
	opt := e.Optimizer()
	if a := o.GetAdam(); a != nil {
		a.Beta_1, a.Beta_2, a.Epsilon = float32(opt.Beta1), float32(opt.Beta2), float32(opt.Epsilon)
	}
	if r := o.GetRmsprop(); r != nil {
		r.Rho, r.Epsilon = float32(opt.Rho), float32(opt.Epsilon)
	}
}
