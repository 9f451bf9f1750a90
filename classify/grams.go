package classify

import (
	"encoding/binary"
	"math/bits"
)

// The prefilter finds literals in a line by their pieces: every literal is represented by one piece
// of gramSizes[k] bytes (the longest size it has), and a line is read one position at a time, the 8
// bytes there loaded as one word and, per size, masked, hashed and looked up in a bitmap. Unlike an
// Aho–Corasick walk, where every byte waits for the state the previous one gave, the positions are
// independent and the bitmaps fit in the CPU's first-level cache. A bitmap hit is confirmed in an
// exact table, then against the whole literal.

// gramSizes are the piece lengths, longest first; a literal shorter than the last is never scanned.
var gramSizes = [...]int{4, minLiteral}

const hashMul = 0x9E3779B97F4A7C15

// gramSet finds the pieces of one length.
type gramSet struct {
	size  int
	mask  uint64   // the low size bytes of a word
	bits  []uint64 // bitmap over the top bits of the hash
	shift uint32   // hash >> shift indexes bits
	keys  []uint64 // exact table, open addressing
	ids   []int32  // piece id + 1 per slot; 0 is empty
}

func gramHash(v uint64) uint32 { return uint32((v * hashMul) >> 32) }

// newGramSet indexes pieces (all of length size) under ids first, first+1, ...
func newGramSet(size int, pieces []string, first int32) gramSet {
	g := gramSet{size: size, mask: ^uint64(0) >> (64 - 8*size)}
	// About 64 bits per piece: a position whose piece is not held reads a set bit about once in 64.
	logBits := max(12, bits.Len(uint(len(pieces)*64)))
	g.bits = make([]uint64, 1<<(logBits-6))
	g.shift = uint32(32 - logBits)
	slots := 1 << max(4, bits.Len(uint(len(pieces)*2)))
	g.keys, g.ids = make([]uint64, slots), make([]int32, slots)
	for i, s := range pieces {
		var buf [8]byte
		copy(buf[:], s)
		v := binary.LittleEndian.Uint64(buf[:])
		h := gramHash(v)
		b := h >> g.shift
		g.bits[b>>6] |= 1 << (b & 63)
		for j := h & uint32(slots-1); ; j = (j + 1) & uint32(slots-1) {
			if g.ids[j] == 0 {
				g.keys[j], g.ids[j] = v, first+int32(i)+1
				break
			}
		}
	}
	return g
}

// find returns the id of the piece v (hash h), or -1.
func (g *gramSet) find(v uint64, h uint32) int32 {
	m := uint32(len(g.ids) - 1)
	for j := h & m; g.ids[j] != 0; j = (j + 1) & m {
		if g.keys[j] == v {
			return g.ids[j] - 1
		}
	}
	return -1
}

// foldPadded writes msg to dst[:len(msg)] with ASCII letters in lower case, followed by 8 zero bytes
// so that a word can be loaded at every position.
func foldPadded(dst, msg []byte) []byte {
	n := len(msg)
	dst = append(dst[:0], msg...)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	i := 0
	for ; i+8 <= n; i += 8 {
		x := binary.LittleEndian.Uint64(dst[i:])
		// Per byte, the high bit of upper is set when the byte is in 'A'..'Z' (and ASCII).
		const lo, hi = 0x0101010101010101, 0x8080808080808080
		b := x &^ hi
		upper := (b + (0x80-'A')*lo) &^ (b + (0x80-'Z'-1)*lo) &^ x & hi
		binary.LittleEndian.PutUint64(dst[i:], x|upper>>2)
	}
	for ; i < n; i++ {
		if c := dst[i]; c-'A' < 26 {
			dst[i] = c + 'a' - 'A'
		}
	}
	return dst
}
