package lake

import (
	"errors"
	"fmt"
	"io"
)

// Page header pre-scan.
//
// parquet-go v0.32.0 allocates a page buffer of the compressed size a page
// header declares (up to 2 GiB) before reading it, and decompresses into
// the declared uncompressed size: a damaged or hostile file of a few KiB
// can make it allocate gigabytes. Before handing a column chunk to
// parquet-go, ReadVectors walks the chunk's page headers itself (Thrift
// compact protocol, decoded here) and checks every size against the chunk
// and against fixed limits. Only headers are read; page bodies are
// skipped.

const (
	maxPageBytes  = 256 << 20 // uncompressed page size limit
	maxPageValues = 1 << 27   // values (levels included) per page
	maxHeaderSize = 16 << 20  // a page header (statistics can be large)
	maxThriftNest = 32
)

var errThrift = errors.New("bad thrift page header")

// pageHeader is what the scan needs of a Parquet PageHeader.
type pageHeader struct {
	typ          int32
	uncompressed int32
	compressed   int32
	numValues    int32 // from the data, dictionary or data v2 sub-header
	size         int   // encoded size of the header
}

// thriftReader decodes Thrift compact protocol from a byte slice.
type thriftReader struct {
	b   []byte
	pos int
}

func (r *thriftReader) byte1() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, io.ErrUnexpectedEOF
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *thriftReader) uvarint() (uint64, error) {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c, err := r.byte1()
		if err != nil {
			return 0, err
		}
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x, nil
		}
	}
	return 0, fmt.Errorf("%w: varint too long", errThrift)
}

func (r *thriftReader) zigzag() (int64, error) {
	u, err := r.uvarint()
	return int64(u>>1) ^ -int64(u&1), err
}

func (r *thriftReader) i32() (int32, error) {
	v, err := r.zigzag()
	if err != nil {
		return 0, err
	}
	if v < -1<<31 || v > 1<<31-1 {
		return 0, fmt.Errorf("%w: i32 out of range", errThrift)
	}
	return int32(v), nil
}

func (r *thriftReader) skipBytes(n uint64) error {
	if n > uint64(len(r.b)-r.pos) {
		return io.ErrUnexpectedEOF
	}
	r.pos += int(n)
	return nil
}

// Compact protocol type ids.
const (
	tStop   = 0
	tTrue   = 1
	tFalse  = 2
	tByte   = 3
	tI16    = 4
	tI32    = 5
	tI64    = 6
	tDouble = 7
	tBinary = 8
	tList   = 9
	tSet    = 10
	tMap    = 11
	tStruct = 12
	tUUID   = 13
)

// fieldHeader reads a struct field header; typ tStop ends the struct.
func (r *thriftReader) fieldHeader(last int16) (id int16, typ byte, err error) {
	c, err := r.byte1()
	if err != nil {
		return 0, 0, err
	}
	typ = c & 0x0f
	if typ == tStop {
		return 0, tStop, nil
	}
	if d := int16(c >> 4); d != 0 {
		return last + d, typ, nil
	}
	v, err := r.zigzag()
	if err != nil {
		return 0, 0, err
	}
	if v < -1<<15 || v > 1<<15-1 {
		return 0, 0, fmt.Errorf("%w: field id out of range", errThrift)
	}
	return int16(v), typ, nil
}

// skip skips a value of type typ (a struct field value or a collection
// element; in collections booleans take one byte).
func (r *thriftReader) skip(typ byte, depth int, inCollection bool) error {
	if depth > maxThriftNest {
		return fmt.Errorf("%w: nested too deep", errThrift)
	}
	switch typ {
	case tTrue, tFalse:
		if inCollection {
			return r.skipBytes(1)
		}
		return nil
	case tByte:
		return r.skipBytes(1)
	case tI16, tI32, tI64:
		_, err := r.uvarint()
		return err
	case tDouble:
		return r.skipBytes(8)
	case tUUID:
		return r.skipBytes(16)
	case tBinary:
		n, err := r.uvarint()
		if err != nil {
			return err
		}
		return r.skipBytes(n)
	case tList, tSet:
		c, err := r.byte1()
		if err != nil {
			return err
		}
		n, et := uint64(c>>4), c&0x0f
		if n == 15 {
			if n, err = r.uvarint(); err != nil {
				return err
			}
		}
		if n > uint64(len(r.b)-r.pos) { // every element takes a byte at least
			return io.ErrUnexpectedEOF
		}
		for range n {
			if err := r.skip(et, depth+1, true); err != nil {
				return err
			}
		}
		return nil
	case tMap:
		n, err := r.uvarint()
		if err != nil || n == 0 {
			return err
		}
		c, err := r.byte1()
		if err != nil {
			return err
		}
		if n > uint64(len(r.b)-r.pos) {
			return io.ErrUnexpectedEOF
		}
		for range n {
			if err := r.skip(c>>4, depth+1, true); err != nil {
				return err
			}
			if err := r.skip(c&0x0f, depth+1, true); err != nil {
				return err
			}
		}
		return nil
	case tStruct:
		var last int16
		for {
			id, t, err := r.fieldHeader(last)
			if err != nil {
				return err
			}
			if t == tStop {
				return nil
			}
			if err := r.skip(t, depth+1, false); err != nil {
				return err
			}
			last = id
		}
	}
	return fmt.Errorf("%w: unknown type %d", errThrift, typ)
}

// numValuesOf reads a data/dictionary/data-v2 sub-header and returns its
// field 1 (num_values).
func (r *thriftReader) numValuesOf() (int32, error) {
	var (
		last int16
		n    int32
	)
	for {
		id, t, err := r.fieldHeader(last)
		if err != nil {
			return 0, err
		}
		if t == tStop {
			return n, nil
		}
		if id == 1 && t == tI32 {
			if n, err = r.i32(); err != nil {
				return 0, err
			}
		} else if err := r.skip(t, 1, false); err != nil {
			return 0, err
		}
		last = id
	}
}

// decodePageHeader decodes the Parquet PageHeader at the start of b.
func decodePageHeader(b []byte) (pageHeader, error) {
	r := thriftReader{b: b}
	var (
		h    pageHeader
		last int16
		seen uint8
	)
	for {
		id, t, err := r.fieldHeader(last)
		if err != nil {
			return h, err
		}
		if t == tStop {
			break
		}
		switch {
		case id >= 1 && id <= 3 && t == tI32:
			v, err := r.i32()
			if err != nil {
				return h, err
			}
			switch id {
			case 1:
				h.typ = v
			case 2:
				h.uncompressed = v
			case 3:
				h.compressed = v
			}
			seen |= 1 << id
		case (id == 5 || id == 7 || id == 8) && t == tStruct:
			if h.numValues, err = r.numValuesOf(); err != nil {
				return h, err
			}
		default:
			if err := r.skip(t, 1, false); err != nil {
				return h, err
			}
		}
		last = id
	}
	if seen != 0b1110 {
		return h, fmt.Errorf("%w: type or sizes missing", errThrift)
	}
	h.size = r.pos
	return h, nil
}

// checkPageHeader validates the sizes of one page header; remaining is the
// chunk bytes after the header.
func checkPageHeader(h pageHeader, remaining int64) error {
	switch {
	case h.compressed < 0 || h.uncompressed < 0 || h.numValues < 0:
		return fmt.Errorf("negative page size or value count (compressed %d, uncompressed %d, values %d)",
			h.compressed, h.uncompressed, h.numValues)
	case int64(h.compressed) > remaining:
		return fmt.Errorf("page of %d bytes overruns its column chunk (%d bytes left)", h.compressed, remaining)
	case h.uncompressed > maxPageBytes:
		return fmt.Errorf("page declares %d uncompressed bytes (limit %d)", h.uncompressed, maxPageBytes)
	case h.numValues > maxPageValues:
		return fmt.Errorf("page declares %d values (limit %d)", h.numValues, maxPageValues)
	}
	return nil
}

// scanChunkPages walks the page headers of the column chunk at
// [start, start+length) of src and checks them.
func scanChunkPages(src io.ReaderAt, start, length int64) error {
	buf := make([]byte, 0, 4096)
	for off := int64(0); off < length; {
		remaining := length - off
		want := min(int64(cap(buf)), remaining)
		for {
			buf = buf[:want]
			n, err := src.ReadAt(buf, start+off)
			if n < len(buf) {
				if err == nil {
					err = io.ErrUnexpectedEOF
				}
				return fmt.Errorf("read page header at offset %d: %v", start+off, err)
			}
			h, err := decodePageHeader(buf)
			if errors.Is(err, io.ErrUnexpectedEOF) && want < remaining && want < maxHeaderSize {
				want = min(want*4, remaining, maxHeaderSize) // a large header: read more
				if cap(buf) < int(want) {
					buf = make([]byte, 0, want)
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("page header at offset %d: %v", start+off, err)
			}
			if err := checkPageHeader(h, remaining-int64(h.size)); err != nil {
				return fmt.Errorf("page header at offset %d: %v", start+off, err)
			}
			off += int64(h.size) + int64(h.compressed)
			break
		}
	}
	return nil
}
