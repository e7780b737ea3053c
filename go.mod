module github.com/bonsai-ml/bonsai

go 1.26.8

require (
	github.com/gomlx/gomlx v0.26.0 // indirect
	golang.org/x/image v0.48.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
