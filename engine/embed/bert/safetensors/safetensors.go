package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"unicode/utf8"
)

// MaxHeaderSize bounds the JSON header (the reference implementation uses
// 100 MB).
const MaxHeaderSize = 100 << 20

// ErrTruncated is wrapped by errors for tensors whose bytes lie (partly)
// past the end of the file.
var ErrTruncated = errors.New("tensor data truncated")

// dtypeSizes gives the element size in bytes of every safetensors dtype.
var dtypeSizes = map[string]int64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// Tensor describes one tensor of the header.
type Tensor struct {
	Name  string
	DType string
	Shape []int64
	// Begin and End are the byte offsets of the data relative to the start
	// of the data section (data_offsets in the header).
	Begin, End int64
}

// NumElements returns the product of the shape (1 for a scalar).
func (t Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Header is the parsed, validated header of a safetensors file.
type Header struct {
	// HeaderSize is the length N of the JSON header; data starts at 8+N.
	HeaderSize int64
	// DataSize is the length of the data section the header describes
	// (the largest end offset).
	DataSize int64
	// Metadata is the optional "__metadata__" string map.
	Metadata map[string]string
	// Tensors in data order (by Begin).
	Tensors []Tensor
	byName  map[string]int
}

// Lookup returns the tensor named name.
func (h *Header) Lookup(name string) (Tensor, bool) {
	i, ok := h.byName[name]
	if !ok {
		return Tensor{}, false
	}
	return h.Tensors[i], true
}

// ParseHeader parses and validates a header from the start of a file: the
// 8-byte little-endian length N followed by at least N bytes of JSON. It
// checks every entry (known dtype, non-negative shape, offsets consistent
// with dtype and shape) and that the tensors tile the data section without
// gaps or overlaps, as the format requires. It does not look at tensor data.
func ParseHeader(b []byte) (*Header, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("file too short for the header length (%d bytes)", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	}
	if uint64(len(b)-8) < n {
		return nil, fmt.Errorf("header length %d but only %d bytes follow", n, len(b)-8)
	}
	js := b[8 : 8+n]
	if !utf8.Valid(js) {
		return nil, errors.New("header is not valid UTF-8")
	}
	if len(bytes.TrimSpace(js)) == 0 || bytes.TrimSpace(js)[0] != '{' {
		return nil, errors.New("header is not a JSON object")
	}
	h := &Header{HeaderSize: int64(n), byName: map[string]int{}}
	dec := json.NewDecoder(bytes.NewReader(js))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, fmt.Errorf("header JSON: %w", err)
	}
	seenMeta := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("header JSON: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("header JSON: unexpected %v", tok)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("header JSON at %q: %w", name, err)
		}
		if name == "__metadata__" {
			if seenMeta {
				return nil, errors.New("duplicate __metadata__")
			}
			seenMeta = true
			if err := json.Unmarshal(raw, &h.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		if _, dup := h.byName[name]; dup {
			return nil, fmt.Errorf("tensor %q: listed twice", name)
		}
		t, err := parseEntry(name, raw)
		if err != nil {
			return nil, err
		}
		h.byName[name] = len(h.Tensors)
		h.Tensors = append(h.Tensors, t)
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, fmt.Errorf("header JSON: %w", err)
	}
	if rest := bytes.TrimSpace(js[dec.InputOffset():]); len(rest) > 0 {
		return nil, errors.New("header JSON: trailing data after the object")
	}
	sort.Slice(h.Tensors, func(i, j int) bool {
		a, b := h.Tensors[i], h.Tensors[j]
		if a.Begin != b.Begin {
			return a.Begin < b.Begin
		}
		return a.End < b.End
	})
	var pos int64
	for i, t := range h.Tensors {
		h.byName[t.Name] = i
		if t.Begin != pos {
			if t.Begin < pos {
				return nil, fmt.Errorf("tensor %q: data [%d,%d) overlaps the previous tensor (ends at %d)", t.Name, t.Begin, t.End, pos)
			}
			return nil, fmt.Errorf("tensor %q: gap in the data section before offset %d (previous tensor ends at %d)", t.Name, t.Begin, pos)
		}
		pos = t.End
	}
	h.DataSize = pos
	return h, nil
}

func parseEntry(name string, raw json.RawMessage) (Tensor, error) {
	var e struct {
		DType       *string  `json:"dtype"`
		Shape       *[]int64 `json:"shape"`
		DataOffsets *[]int64 `json:"data_offsets"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return Tensor{}, fmt.Errorf("tensor %q: %w", name, err)
	}
	if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
		return Tensor{}, fmt.Errorf("tensor %q: needs dtype, shape and data_offsets", name)
	}
	size, ok := dtypeSizes[*e.DType]
	if !ok {
		return Tensor{}, fmt.Errorf("tensor %q: unknown dtype %q", name, *e.DType)
	}
	if len(*e.DataOffsets) != 2 {
		return Tensor{}, fmt.Errorf("tensor %q: data_offsets must have 2 entries, has %d", name, len(*e.DataOffsets))
	}
	t := Tensor{Name: name, DType: *e.DType, Shape: *e.Shape, Begin: (*e.DataOffsets)[0], End: (*e.DataOffsets)[1]}
	if t.Begin < 0 || t.End < t.Begin {
		return Tensor{}, fmt.Errorf("tensor %q: bad data_offsets [%d,%d]", name, t.Begin, t.End)
	}
	n := int64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return Tensor{}, fmt.Errorf("tensor %q: negative dimension in shape %v", name, t.Shape)
		}
		if d != 0 && n > math.MaxInt64/size/d {
			return Tensor{}, fmt.Errorf("tensor %q: shape %v overflows", name, t.Shape)
		}
		n *= d
	}
	if n*size != t.End-t.Begin {
		return Tensor{}, fmt.Errorf("tensor %q: %s%v needs %d bytes, data_offsets [%d,%d] give %d",
			name, t.DType, t.Shape, n*size, t.Begin, t.End, t.End-t.Begin)
	}
	return t, nil
}

// File is an open safetensors file. The header is read and validated by
// Open; tensor data is read on demand, so a file whose tail is missing can
// still be opened and its complete tensors read.
type File struct {
	Header
	path string
	r    io.ReaderAt
	c    io.Closer
	size int64
}

// Open opens and validates the header of the safetensors file at path.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	sf, err := NewReader(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	sf.c = f
	return sf, nil
}

// NewReader reads the header of a safetensors file of the given size from
// r. name is used in error messages.
func NewReader(r io.ReaderAt, size int64, name string) (*File, error) {
	var pre [8]byte
	if size < 8 {
		return nil, fmt.Errorf("%s: file too short (%d bytes) for a safetensors header", name, size)
	}
	if _, err := r.ReadAt(pre[:], 0); err != nil {
		return nil, fmt.Errorf("%s: read header length: %w", name, err)
	}
	n := binary.LittleEndian.Uint64(pre[:])
	if n > MaxHeaderSize || int64(n) > size-8 {
		return nil, fmt.Errorf("%s: header length %d does not fit the file (%d bytes, limit %d)", name, n, size, MaxHeaderSize)
	}
	buf := make([]byte, 8+n)
	if _, err := r.ReadAt(buf, 0); err != nil {
		return nil, fmt.Errorf("%s: read header: %w", name, err)
	}
	h, err := ParseHeader(buf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &File{Header: *h, path: name, r: r, size: size}, nil
}

// Close closes the underlying file (if Open opened it).
func (f *File) Close() error {
	if f.c != nil {
		return f.c.Close()
	}
	return nil
}

// Path returns the file name given to Open or NewReader.
func (f *File) Path() string { return f.path }

// Size returns the actual file size.
func (f *File) Size() int64 { return f.size }

// ExpectedSize returns the size the header implies: 8 + header + data.
func (f *File) ExpectedSize() int64 { return 8 + f.HeaderSize + f.DataSize }

// dataStart is the file offset of the data section.
func (f *File) dataStart() int64 { return 8 + f.HeaderSize }

// Available returns how many bytes of t's data are present in the file.
func (f *File) Available(t Tensor) int64 {
	have := f.size - f.dataStart() - t.Begin
	return max(0, min(have, t.End-t.Begin))
}

// Truncated returns the names of tensors whose data is not completely in
// the file, in data order.
func (f *File) Truncated() []string {
	var out []string
	for _, t := range f.Tensors {
		if f.Available(t) < t.End-t.Begin {
			out = append(out, t.Name)
		}
	}
	return out
}

// Raw returns the bytes of the named tensor.
func (f *File) Raw(name string) ([]byte, error) {
	t, ok := f.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", f.path, name)
	}
	n := t.End - t.Begin
	if have := f.Available(t); have < n {
		return nil, fmt.Errorf("%s: tensor %q: %w: %d of %d bytes present (file is %d bytes, header describes %d)",
			f.path, name, ErrTruncated, have, n, f.size, f.ExpectedSize())
	}
	buf := make([]byte, n)
	if n == 0 {
		return buf, nil
	}
	if _, err := f.r.ReadAt(buf, f.dataStart()+t.Begin); err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", f.path, name, err)
	}
	return buf, nil
}

// Float32s returns the named tensor as float32s, converting F16, BF16 and
// F64 (row-major, flattened).
func (f *File) Float32s(name string) ([]float32, error) {
	t, ok := f.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", f.path, name)
	}
	switch t.DType {
	case "F32", "F16", "BF16", "F64":
	default:
		return nil, fmt.Errorf("%s: tensor %q: dtype %s is not a float type", f.path, name, t.DType)
	}
	b, err := f.Raw(name)
	if err != nil {
		return nil, err
	}
	return decodeFloats(t.DType, b), nil
}

// Int64s returns the named tensor as int64s (I64, I32 or U8 data).
func (f *File) Int64s(name string) ([]int64, error) {
	t, ok := f.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", f.path, name)
	}
	b, err := f.Raw(name)
	if err != nil {
		return nil, err
	}
	var out []int64
	switch t.DType {
	case "I64":
		out = make([]int64, len(b)/8)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case "I32":
		out = make([]int64, len(b)/4)
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case "U8":
		out = make([]int64, len(b))
		for i := range out {
			out[i] = int64(b[i])
		}
	default:
		return nil, fmt.Errorf("%s: tensor %q: dtype %s is not an integer type", f.path, name, t.DType)
	}
	return out, nil
}

func decodeFloats(dtype string, b []byte) []float32 {
	var out []float32
	switch dtype {
	case "F32":
		out = make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case "F64":
		out = make([]float32, len(b)/8)
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case "BF16":
		out = make([]float32, len(b)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	case "F16":
		out = make([]float32, len(b)/2)
		for i := range out {
			out[i] = HalfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	}
	return out
}

// HalfToFloat32 converts an IEEE 754 binary16 value to float32 exactly.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf / NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0: // ±0
		return math.Float32frombits(sign)
	}
	// subnormal: value = mant * 2^-24
	f := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}
