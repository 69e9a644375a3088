package lake

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DecodeFloat32LE decodes len(dst) little-endian IEEE-754 float32 values
// from src, which must hold exactly 4·len(dst) bytes. Bit patterns are kept
// exactly (NaN payloads, -0, subnormals).
func DecodeFloat32LE(dst []float32, src []byte) error {
	if len(src) != 4*len(dst) {
		return fmt.Errorf("%w: %d bytes for %d float32 values", ErrDim, len(src), len(dst))
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
	return nil
}

// EncodeFloat32LE appends v as little-endian float32 bytes to dst: the
// packed vector layout DecodeFloat32LE reads.
func EncodeFloat32LE(dst []byte, v []float32) []byte {
	for _, f := range v {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(f))
	}
	return dst
}
