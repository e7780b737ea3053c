// Package results owns a results folder's files other than the model files themselves:
// status.json (TAO's JSON-lines event log), training.csv (one row per finished epoch), the
// checkpoint names under weights/, and the metadata records that model files carry about how
// they were made (pruning, distillation, validation metrics).
package results
