package spec

// The Go code in specpb is generated from proto/experiment.proto and checked
// in, so building Bonsai needs neither protoc nor protoc-gen-go. To regenerate
// after editing the schema (protoc 3.21+, protoc-gen-go v1.36.12):
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go generate ./spec

//go:generate protoc --proto_path=proto --go_out=specpb --go_opt=paths=source_relative experiment.proto
