package purego

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
)

func TestRegisteredWithGoMLX(t *testing.T) {
	for _, config := range []string{"purego", "purego:conv=direct", "purego:kernels=off,parallelism=1"} {
		b, err := backends.NewWithConfig(config)
		if err != nil {
			t.Fatalf("NewWithConfig(%q): %v", config, err)
		}
		if _, ok := b.(*Backend); !ok {
			t.Fatalf("NewWithConfig(%q) returned %T, want *purego.Backend", config, b)
		}
		for _, op := range addedOps {
			if !b.Capabilities().Operations[op] {
				t.Errorf("capabilities of %q lack %s", config, op)
			}
		}
	}
	if _, err := New("no-such-option"); err == nil {
		t.Fatal("New accepted an unknown option")
	}
}
