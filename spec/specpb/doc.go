// Package specpb holds the Go types generated from spec/proto/experiment.proto,
// the schema of a classification experiment (TAO's makenet spec). Do not edit
// experiment.pb.go by hand; run `go generate ./spec`. Use package spec to load,
// default and validate these messages.
package specpb
