package splitmix

import "testing"

// The reference values are the first outputs of SplitMix64 seeded with 0 and with 1234567, as
// published with the algorithm (Vigna's splitmix64.c) and used by Java's SplittableRandom.
func TestMixMatchesReference(t *testing.T) {
	for _, c := range []struct {
		seed uint64
		want []uint64
	}{
		{0, []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}},
		{1234567, []uint64{6457827717110365317, 3203168211198807973, 9817491932198370423}},
	} {
		state := c.seed
		for i, want := range c.want {
			if got := Mix(state); got != want {
				t.Errorf("seed %d, value %d: %#x, want %#x", c.seed, i, got, want)
			}
			state += Gamma
		}
	}
}
