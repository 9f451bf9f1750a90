package gencorpus

import "math/bits"

// rng is SplitMix64: tiny, fast, and fixed here, so a seed gives the same
// corpus with every Go release.
type rng struct{ s uint64 }

func newRNG(seed int64) *rng { return &rng{s: uint64(seed)} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a number in [0, n), n > 0, by multiply-shift (Lemire's method
// without the rejection step; the bias is below 2^-32 for the n used here).
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

// between returns a number in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// skewed returns a number in [0, n) with small numbers much more likely
// (about harmonic), for things a few of which are common.
func (r *rng) skewed(n int) int { return r.intn(r.intn(n) + 1) }

// below reports true with probability p, given as parts per 2^32.
func (r *rng) below(p uint64) bool { return r.next()>>32 < p }

// perU32 converts a probability in [0, 1] to parts per 2^32.
func perU32(p float64) uint64 { return uint64(p * (1 << 32)) }
