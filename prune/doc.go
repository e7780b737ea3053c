// Package prune owns structured pruning of a model graph: TAO's min-weight threshold pruning
// (reference section 3) on the model IR, the rewrite into a physically smaller graph with sliced
// weights, a per-layer report, and size targets (a parameter or FLOP ratio) reached either by
// searching TAO's threshold or by Bonsai's allocations (PruneTo), which decide how many
// channels each unit (a layer alone or an equalization group) keeps: the same fraction of
// every unit, or counts chosen from each unit's measured accuracy drop when pruned alone
// (Sensitivity), so that no stage is starved. Within a unit the strongest channels by the
// criterion survive, counts rounded as TAO's.
//
// The algorithm, as TAO's nvidia_tao_tf1/core/pruning does it:
//   - every conv2d, dense and depthwise_conv2d gets a statistic per output channel: the L2 norm
//     of its filter (biases ignored), normalised per layer by its max (or by its L2 norm times
//     the channel count);
//   - channels whose statistic is strictly above the threshold survive; the count is raised to
//     min(MinFilters, channels), then rounded up to a multiple of Granularity, and the top-n
//     channels by statistic are kept, in ascending index order;
//   - layers whose channels must agree form equalization groups: the convolutions feeding an
//     element-wise add or multiply (found by walking up through batch norm, activations,
//     pooling, padding, dropout and other element-wise layers; single-channel broadcast inputs
//     are left out) and a depthwise convolution with its nearest prunable parent. Groups that
//     share a member merge. A group decides once, on the element-wise union (max), intersection
//     (min), arithmetic or geometric mean of its members' statistics;
//   - excluded layers (-el), the output layer (or, when it is a pooling layer as in SqueezeNet's
//     head, the convolution whose channels it outputs) and the convolution feeding a
//     channel_slice (TAO's Split) keep all their channels, and so does every group holding one;
//   - batch norm follows the layer before it; concat offsets its inputs' channels; flatten turns
//     the kept channels into kept rows of the dense layer after it.
//
// TAO assigns a group's channels each time an element-wise layer is explored; Bonsai merges all
// groups first and decides each once over all its members, which gives TAO's final assignment
// on every architecture Bonsai builds. Where TAO would build a broken model (an add fed by the
// model input, a grouped convolution) Bonsai keeps the channels or refuses with an error.
package prune
