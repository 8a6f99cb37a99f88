package models

// crcPolynomial is CRC-32/IEEE's polynomial, bit-reversed as hash/crc32 uses it.
const crcPolynomial = 0xedb88320

// crcShifts[k] is x^(2^k) modulo the polynomial: the operator that appends 2^k zero bits to a CRC's message.
type crcShifts [32]uint32

func newCRCShifts() *crcShifts {
	var t crcShifts
	p := uint32(1) << 30 // x^1
	t[0] = p
	for k := 1; k < len(t); k++ {
		p = crcMultiply(p, p)
		t[k] = p
	}
	return &t
}

// crcMultiply multiplies two polynomials modulo the CRC polynomial (bit-reversed, x^0 in the top bit).
func crcMultiply(a, b uint32) uint32 {
	m := uint32(1) << 31
	var p uint32
	for {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				return p
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ crcPolynomial
		} else {
			b >>= 1
		}
	}
}

// shift returns the operator that appends n zero bytes to a CRC's message: x^(8n) modulo the polynomial.
func (t *crcShifts) shift(n int) uint32 {
	p := uint32(1) << 31 // x^0
	for k := 3; n != 0; k++ {
		if n&1 != 0 {
			p = crcMultiply(t[k&31], p)
		}
		n >>= 1
	}
	return p
}

// crcCombine returns the CRC-32 of a message followed by a piece, from the message's CRC, as zlib's
// crc32_combine does; hash/crc32 has no such function.
func crcCombine(sum uint32, piece crcPiece) uint32 {
	return crcMultiply(piece.shift, sum) ^ piece.sum
}
