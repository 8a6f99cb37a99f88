package models

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

// The CRC-32 combined from two pieces' CRCs is the CRC-32 of the two pieces one after the other.
func TestCRCCombine(t *testing.T) {
	shifts := newCRCShifts()
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := []int{0, 1, 2, 3, 7, 8, 255, 256, 4096, 9481, 20000}
	for _, la := range lengths {
		for _, lb := range lengths {
			a, b := make([]byte, la), make([]byte, lb)
			for i := range a {
				a[i] = byte(rng.Uint32())
			}
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			got := crcCombine(crc32.ChecksumIEEE(a), crcPiece{sum: crc32.ChecksumIEEE(b), shift: shifts.shift(lb)})
			if want := crc32.ChecksumIEEE(append(append([]byte{}, a...), b...)); got != want {
				t.Errorf("%d + %d bytes: %08x, want %08x", la, lb, got, want)
			}
		}
	}
}
