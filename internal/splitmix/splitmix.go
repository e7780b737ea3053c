// Package splitmix holds SplitMix64 (Steele, Lea and Flood, 2014), the 64-bit mixing function
// behind Bonsai's seeded streams: dataset splits, loader augmentation, weight initialisation
// seeds and test data. One copy, so that every stream stays reproducible across releases.
package splitmix

// Gamma is SplitMix64's increment: a generator's state advances by Gamma per value.
const Gamma = 0x9e3779b97f4a7c15

// Mix returns SplitMix64's output for the state before it is advanced: Mix(s) is the value a
// generator at state s yields next (it adds Gamma, then mixes).
func Mix(x uint64) uint64 {
	x += Gamma
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
