// Command bonsai trains, prunes and exports image classifiers for edge devices.
package main

import (
	"os"

	"github.com/bonsai-ml/bonsai/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
