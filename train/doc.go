// Package train owns the training loop: TAO's learning-rate schedules, epochs over the data
// loader, validation, checkpoints (every epoch, best and last), the results directory's logs
// (training.csv, status.json, classmap.json, results.png), the progress bar, resume with
// --init_epoch, transfer learning by layer name, and stopping on a non-finite loss.
package train
