//go:build cgo

package engine

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

static int bonsai_dlopen_global(const char *path) {
	return dlopen(path, RTLD_LAZY | RTLD_GLOBAL) != NULL;
}
*/
import "C"

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unsafe"
)

// preloadNvidiaLibs makes the NVIDIA libraries of a pip (JAX) install visible to a CUDA plugin
// that expects them on LD_LIBRARY_PATH. The dynamic loader reads LD_LIBRARY_PATH only at process
// start, so instead each library is dlopen'ed by absolute path with RTLD_GLOBAL; a later dlopen
// by name (from the plugin) then finds the already-loaded copy. Libraries that need others are
// retried until no more load. Folders already on LD_LIBRARY_PATH are skipped.
func preloadNvidiaLibs(dirs []string) error {
	onPath := strings.Split(os.Getenv("LD_LIBRARY_PATH"), ":")
	var pending []string
	for _, d := range dirs {
		if slices.Contains(onPath, d) {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(d, "*.so*"))
		pending = append(pending, files...)
	}
	for progress := true; progress && len(pending) > 0; {
		progress = false
		var left []string
		for _, f := range pending {
			if dlopenGlobal(f) {
				progress = true
			} else {
				left = append(left, f)
			}
		}
		pending = left
	}
	return nil
}

func dlopenGlobal(path string) bool {
	cs := C.CString(path)
	defer C.free(unsafe.Pointer(cs))
	return C.bonsai_dlopen_global(cs) != 0
}
