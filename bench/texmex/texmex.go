// Package texmex reads and writes the TEXMEX vector file formats used by
// ANN benchmarks (http://corpus-texmex.irisa.fr/):
//
//	.fvecs  per vector: int32 dim, then dim × float32
//	.bvecs  per vector: int32 dim, then dim × uint8 (read as float32)
//	.ivecs  per row:    int32 k,   then k × int32 (ground-truth ids)
//
// All numbers are little-endian and every record of a file has the same
// dimension. Key types: [Vectors] (a flat float32 slab) and [IDs] (a flat
// int32 slab). Readers stream through a bufio.Reader and never panic on a
// malformed file: they return a [*FormatError] naming the file, the record
// and its byte offset, which matches [ErrFormat] under errors.Is.
//
// Writers publish atomically: a temporary file in the same directory is
// written, synced and renamed over the destination.
package texmex

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// MaxDim is the largest dimension (or ground-truth depth) accepted.
const MaxDim = 1 << 16

// ErrFormat matches every [*FormatError] under errors.Is.
var ErrFormat = errors.New("malformed texmex file")

// FormatError reports a malformed record.
type FormatError struct {
	Path   string // file as named by the caller
	Format Format
	Record int   // 0-based index of the vector or row
	Offset int64 // byte offset of the record's dimension header
	Reason string
}

func (e *FormatError) Error() string {
	kind := "vector"
	if e.Format == Ivecs {
		kind = "row"
	}
	return fmt.Sprintf("read %s: %s %d at byte %d: %s", e.Path, kind, e.Record, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrFormat) true for every FormatError.
func (e *FormatError) Is(target error) bool { return target == ErrFormat }

// Vectors is a row-major slab of Len() vectors of Dim float32 values.
type Vectors struct {
	Dim  int
	Data []float32
}

// Len returns the number of vectors.
func (v Vectors) Len() int {
	if v.Dim <= 0 {
		return 0
	}
	return len(v.Data) / v.Dim
}

// Row returns vector i, sharing memory with the slab. Its capacity is
// clipped so that appending to it cannot overwrite vector i+1.
func (v Vectors) Row(i int) []float32 {
	return v.Data[i*v.Dim : (i+1)*v.Dim : (i+1)*v.Dim]
}

// Slice returns vectors [lo, hi) sharing memory with v.
func (v Vectors) Slice(lo, hi int) Vectors {
	return Vectors{Dim: v.Dim, Data: v.Data[lo*v.Dim : hi*v.Dim : hi*v.Dim]}
}

// IDs is a row-major slab of Len() rows of K int32 values, the content of
// an .ivecs file (usually ground truth: for each query, K base ids, nearest
// first).
type IDs struct {
	K    int
	Data []int32
}

// Len returns the number of rows.
func (x IDs) Len() int {
	if x.K <= 0 {
		return 0
	}
	return len(x.Data) / x.K
}

// Row returns row i, sharing memory with the slab.
func (x IDs) Row(i int) []int32 {
	return x.Data[i*x.K : (i+1)*x.K : (i+1)*x.K]
}

// Format is one of the TEXMEX encodings.
type Format uint8

// The TEXMEX formats.
const (
	Fvecs Format = iota + 1
	Bvecs
	Ivecs
)

func (f Format) String() string {
	switch f {
	case Fvecs:
		return "fvecs"
	case Bvecs:
		return "bvecs"
	case Ivecs:
		return "ivecs"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// elemSize is the size in bytes of one component.
func (f Format) elemSize() int {
	if f == Bvecs {
		return 1
	}
	return 4
}

// FormatOf chooses the format from the extension of path.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".fvecs":
		return Fvecs, nil
	case ".bvecs":
		return Bvecs, nil
	case ".ivecs":
		return Ivecs, nil
	}
	return 0, fmt.Errorf("%s: unknown extension %q, want .fvecs, .bvecs or .ivecs", path, filepath.Ext(path))
}

// ReadVectors reads an .fvecs or .bvecs file (chosen by extension). An
// empty file is an error: it has no dimension.
func ReadVectors(path string) (Vectors, error) {
	f, err := FormatOf(path)
	if err != nil {
		return Vectors{}, err
	}
	if f == Ivecs {
		return Vectors{}, fmt.Errorf("%s: want .fvecs or .bvecs vectors, not .ivecs ids", path)
	}
	var v Vectors
	err = withFile(path, func(r io.Reader, size int64) error {
		var err error
		v, err = decodeVectors(r, path, f, size)
		return err
	})
	return v, err
}

// ReadIvecs reads an .ivecs file. An empty file is an error.
func ReadIvecs(path string) (IDs, error) {
	if f, err := FormatOf(path); err != nil {
		return IDs{}, err
	} else if f != Ivecs {
		return IDs{}, fmt.Errorf("%s: want an .ivecs file, not .%s", path, f)
	}
	var x IDs
	err := withFile(path, func(r io.Reader, size int64) error {
		var err error
		x, err = decodeIvecs(r, path, size)
		return err
	})
	return x, err
}

func withFile(path string, fn func(r io.Reader, size int64) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err // *PathError already names the file
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return fn(bufio.NewReaderSize(f, 1<<20), size)
}

// decodeVectors reads fvecs or bvecs records from r. name is used in
// errors; sizeHint, when positive, is the total size of the input and only
// sizes the first allocation.
func decodeVectors(r io.Reader, name string, f Format, sizeHint int64) (Vectors, error) {
	var data []float32
	dim, err := decode(r, name, f, sizeHint, func(n int) { data = make([]float32, 0, n) },
		func(rec []byte, off int64, idx int) error {
			switch f {
			case Bvecs:
				for _, b := range rec {
					data = append(data, float32(b))
				}
			default:
				for j := 0; j < len(rec); j += 4 {
					x := math.Float32frombits(binary.LittleEndian.Uint32(rec[j:]))
					if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
						return &FormatError{Path: name, Format: f, Record: idx, Offset: off,
							Reason: fmt.Sprintf("component %d is %v", j/4, x)}
					}
					data = append(data, x)
				}
			}
			return nil
		})
	if err != nil {
		return Vectors{}, err
	}
	return Vectors{Dim: dim, Data: data}, nil
}

// decodeIvecs reads ivecs rows from r; see decodeVectors.
func decodeIvecs(r io.Reader, name string, sizeHint int64) (IDs, error) {
	var data []int32
	k, err := decode(r, name, Ivecs, sizeHint, func(n int) { data = make([]int32, 0, n) },
		func(rec []byte, _ int64, _ int) error {
			for j := 0; j < len(rec); j += 4 {
				data = append(data, int32(binary.LittleEndian.Uint32(rec[j:])))
			}
			return nil
		})
	if err != nil {
		return IDs{}, err
	}
	return IDs{K: k, Data: data}, nil
}

// decode walks the records of r. alloc is called once, after the first
// header, with a capacity estimate (in components); emit receives each
// record body. It returns the common dimension.
func decode(r io.Reader, name string, f Format, sizeHint int64,
	alloc func(n int), emit func(rec []byte, off int64, idx int) error) (int, error) {
	var (
		hdr [4]byte
		buf []byte
		off int64
		dim int
		idx int
	)
	for ; ; idx++ {
		n, err := io.ReadFull(r, hdr[:])
		if err == io.EOF {
			break
		}
		if err == io.ErrUnexpectedEOF {
			return 0, &FormatError{Path: name, Format: f, Record: idx, Offset: off,
				Reason: fmt.Sprintf("truncated dimension header: file ends after %d of 4 bytes", n)}
		}
		if err != nil {
			return 0, fmt.Errorf("read %s: record %d at byte %d: %w", name, idx, off, err)
		}
		d := int64(int32(binary.LittleEndian.Uint32(hdr[:])))
		switch {
		case d <= 0 || d > MaxDim:
			return 0, &FormatError{Path: name, Format: f, Record: idx, Offset: off,
				Reason: fmt.Sprintf("dimension %d out of range 1..%d", d, MaxDim)}
		case idx > 0 && int(d) != dim:
			return 0, &FormatError{Path: name, Format: f, Record: idx, Offset: off,
				Reason: fmt.Sprintf("dimension %d, want %d", d, dim)}
		case idx == 0:
			dim = int(d)
			buf = make([]byte, dim*f.elemSize())
			recSize := int64(4 + len(buf))
			est := 1
			if sizeHint > 0 {
				est = int(max(1, sizeHint/recSize))
			}
			alloc(est * dim)
		}
		n, err = io.ReadFull(r, buf)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, &FormatError{Path: name, Format: f, Record: idx, Offset: off,
				Reason: fmt.Sprintf("truncated: want %d bytes after the header, file ends after %d", len(buf), n)}
		}
		if err != nil {
			return 0, fmt.Errorf("read %s: record %d at byte %d: %w", name, idx, off, err)
		}
		if err := emit(buf, off, idx); err != nil {
			return 0, err
		}
		off += int64(4 + len(buf))
	}
	if idx == 0 {
		return 0, &FormatError{Path: name, Format: f, Record: 0, Offset: 0, Reason: "empty file, no records"}
	}
	return dim, nil
}

// WriteFvecs writes v to path as .fvecs, atomically.
func WriteFvecs(path string, v Vectors) error {
	if err := checkShape(v.Dim, len(v.Data)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return WriteAtomic(path, func(w io.Writer) error { return encodeFvecs(w, v) })
}

// WriteIvecs writes x to path as .ivecs, atomically.
func WriteIvecs(path string, x IDs) error {
	if err := checkShape(x.K, len(x.Data)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return WriteAtomic(path, func(w io.Writer) error { return encodeIvecs(w, x) })
}

func checkShape(dim, n int) error {
	switch {
	case dim <= 0 || dim > MaxDim:
		return fmt.Errorf("dimension %d out of range 1..%d", dim, MaxDim)
	case n == 0:
		return errors.New("no records")
	case n%dim != 0:
		return fmt.Errorf("%d values is not a multiple of dimension %d", n, dim)
	}
	return nil
}

func encodeFvecs(w io.Writer, v Vectors) error {
	rec := make([]byte, 0, 4+4*v.Dim)
	for i := range v.Len() {
		rec = binary.LittleEndian.AppendUint32(rec[:0], uint32(v.Dim))
		for _, x := range v.Row(i) {
			rec = binary.LittleEndian.AppendUint32(rec, math.Float32bits(x))
		}
		if _, err := w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}

func encodeIvecs(w io.Writer, x IDs) error {
	rec := make([]byte, 0, 4+4*x.K)
	for i := range x.Len() {
		rec = binary.LittleEndian.AppendUint32(rec[:0], uint32(x.K))
		for _, id := range x.Row(i) {
			rec = binary.LittleEndian.AppendUint32(rec, uint32(id))
		}
		if _, err := w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}

// WriteAtomic writes a temporary file next to path through fill, syncs it,
// renames it over path and syncs the directory: path holds the old or the
// new content after a crash, never a mix.
func WriteAtomic(path string, fill func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = fill(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		derr = d.Sync()
		d.Close()
		if derr != nil {
			return derr
		}
	}
	return nil
}
