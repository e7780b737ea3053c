// Package train owns the training loop: TAO's learning-rate schedules, epochs over the data
// loader, validation, the checkpoints of each epoch (committed to the results folder through
// package results), the progress bar, resume with --init_epoch and --resume, transfer
// learning by layer name, distillation, and stopping on a non-finite loss or weight. FromSpec
// runs all of it from an experiment spec.
package train
