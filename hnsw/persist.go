package hnsw

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"unsafe"
)

// The file format (docs/format/hnsw.md has the long form). Little-endian.
//
//	header (64 bytes)
//	  magic "LKVHNSW\x00" | version u32 | metric u8 | 3 zero bytes | dim u32 |
//	  M u32 | efConstruction u32 | slots u32 | entry u64 | live u64 |
//	  seed u64 | exactFactor f64 | crc32c(bytes 0..60) u32
//	sections, in this order, each
//	  kind u32 | payload length u64 | crc32c(payload) u32 | payload | zero
//	  padding to a multiple of 8 bytes
//	  1 state   slots bytes (1 live, 3 deleted, 0 never used)
//	  2 levels  slots bytes
//	  3 vectors slots*dim float32
//	  4 links0  slots*(2M+1) uint32: count, then ids
//	  5 upper   for each id with level > 0, in id order: level*(M+1) uint32
//
// Padding keeps every payload 8-byte aligned in the file, so a loaded file
// buffer is used in place as the vector and link slabs (one read, no
// copy). A new encoding gets a new version number; old ones stay readable.
const (
	fileMagic   = "LKVHNSW\x00"
	fileVersion = 1
	headerSize  = 64
	sectionHead = 16

	secState   = 1
	secLevels  = 2
	secVectors = 3
	secLinks0  = 4
	secUpper   = 5
)

var (
	castagnoli   = crc32.MakeTable(crc32.Castagnoli)
	littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()
	sectionNames = map[uint32]string{secState: "state", secLevels: "levels", secVectors: "vectors", secLinks0: "links0", secUpper: "upper"}
)

// WriteFile saves the index to path atomically: it writes a temporary file
// in the same directory, syncs it, renames it over path and syncs the
// directory, so path holds either the old or the new index after a crash.
func (x *Index) WriteFile(path string) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save index: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = x.Save(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("save index %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("save index %s: sync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("save index %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("save index %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// Save writes the index to w. It holds the writer lock exclusively, so it
// waits for running inserts, deletes and repairs and saves one consistent
// state; searches go on while it writes.
func (x *Index) Save(w io.Writer) error {
	x.wmu.Lock()
	defer x.wmu.Unlock()
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := int(x.slots.Load())

	var h [headerSize]byte
	copy(h[0:8], fileMagic)
	le := binary.LittleEndian
	le.PutUint32(h[8:], fileVersion)
	h[12] = byte(x.metric)
	le.PutUint32(h[16:], uint32(x.dim))
	le.PutUint32(h[20:], uint32(x.m))
	le.PutUint32(h[24:], uint32(x.efC))
	le.PutUint32(h[28:], uint32(n))
	le.PutUint64(h[32:], x.entry.Load())
	le.PutUint64(h[40:], uint64(x.live.Load()))
	le.PutUint64(h[48:], x.seed)
	// exactFactor is stored as float32 bits to fit; it is a tuning knob.
	le.PutUint32(h[56:], math.Float32bits(float32(x.exactFactor)))
	le.PutUint32(h[60:], crc32.Checksum(h[:60], castagnoli))
	if _, err := w.Write(h[:]); err != nil {
		return fmt.Errorf("save index: %w", err)
	}

	state := make([]byte, n)
	for i := range state {
		state[i] = byte(atomic.LoadUint32(&x.state[i]))
	}
	if err := writeSection(w, secState, state); err != nil {
		return err
	}
	if err := writeSection(w, secLevels, x.levels[:n]); err != nil {
		return err
	}
	var vecParts, linkParts [][]byte
	for _, r := range x.vecs.prefix(n) {
		vecParts = append(vecParts, f32Bytes(r))
	}
	for _, r := range x.links0.prefix(n) {
		linkParts = append(linkParts, u32Bytes(r))
	}
	if err := writeSection(w, secVectors, vecParts...); err != nil {
		return err
	}
	if err := writeSection(w, secLinks0, linkParts...); err != nil {
		return err
	}
	var upper []uint32
	for i := 0; i < n; i++ {
		upper = append(upper, x.upper[i]...)
	}
	return writeSection(w, secUpper, u32Bytes(upper))
}

// writeSection writes one section whose payload is the concatenation of
// parts (a segmented slab is written without joining its segments).
func writeSection(w io.Writer, kind uint32, parts ...[]byte) error {
	size, crc := 0, uint32(0)
	for _, p := range parts {
		size += len(p)
		crc = crc32.Update(crc, castagnoli, p)
	}
	var h [sectionHead]byte
	binary.LittleEndian.PutUint32(h[0:], kind)
	binary.LittleEndian.PutUint64(h[4:], uint64(size))
	binary.LittleEndian.PutUint32(h[12:], crc)
	var pad [8]byte
	out := append(append([][]byte{h[:]}, parts...), pad[:padLen(size)])
	for _, b := range out {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("save index: section %s: %w", sectionNames[kind], err)
		}
	}
	return nil
}

func padLen(n int) int { return (8 - n%8) % 8 }

// f32Bytes views a float32 slice as little-endian bytes (a copy on
// big-endian hosts).
func f32Bytes(s []float32) []byte {
	if len(s) == 0 {
		return nil
	}
	if littleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*4)
	}
	b := make([]byte, len(s)*4)
	for i, v := range s {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func u32Bytes(s []uint32) []byte {
	if len(s) == 0 {
		return nil
	}
	if littleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*4)
	}
	b := make([]byte, len(s)*4)
	for i, v := range s {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return b
}

// LoadFile reads an index saved by WriteFile or Save with one read.
func LoadFile(path string) (*Index, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load index: %w", err)
	}
	x, err := Decode(buf)
	if err != nil {
		return nil, fmt.Errorf("load index %s: %w", path, err)
	}
	return x, nil
}

// Load reads an index from r. Memory grows with the bytes actually read,
// so a header that lies about sizes cannot make it allocate more.
func Load(r io.Reader) (*Index, error) {
	buf, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("load index: %w", err)
	}
	return Decode(buf)
}

// Decode builds an index from the bytes of a saved file. The vector and
// link slabs alias buf (on little-endian hosts when buf is 4-byte
// aligned), so buf must not be modified afterwards. Every count, id and
// level is checked: a damaged file gives a *CorruptionError (errors.Is
// ErrCorrupt), never a panic.
func Decode(buf []byte) (*Index, error) {
	corrupt := func(sec string, off int, format string, args ...any) error {
		return &CorruptionError{Section: sec, Offset: int64(off), Reason: fmt.Sprintf(format, args...)}
	}
	if len(buf) < headerSize {
		return nil, corrupt("header", 0, "file is %d bytes, shorter than the %d-byte header", len(buf), headerSize)
	}
	h := buf[:headerSize]
	if string(h[:8]) != fileMagic {
		return nil, corrupt("header", 0, "not a lakevec index file (bad magic %q)", h[:8])
	}
	le := binary.LittleEndian
	if got, want := le.Uint32(h[60:]), crc32.Checksum(h[:60], castagnoli); got != want {
		return nil, corrupt("header", 0, "checksum mismatch (stored %08x, computed %08x)", got, want)
	}
	if v := le.Uint32(h[8:]); v != fileVersion {
		return nil, corrupt("header", 8, "unsupported format version %d (this build reads %d)", v, fileVersion)
	}
	o := Options{
		Metric:            Metric(h[12]),
		Dim:               int(le.Uint32(h[16:])),
		M:                 int(le.Uint32(h[20:])),
		EfConstruction:    int(le.Uint32(h[24:])),
		Seed:              le.Uint64(h[48:]),
		ExactSearchFactor: float64(math.Float32frombits(le.Uint32(h[56:]))),
		Capacity:          1,
	}
	if math.IsNaN(o.ExactSearchFactor) || math.IsInf(o.ExactSearchFactor, 0) {
		o.ExactSearchFactor = 1
	}
	if o.Dim == 0 || o.M == 0 || o.EfConstruction == 0 {
		return nil, corrupt("header", 16, "zero dimension, M or efConstruction")
	}
	if err := o.Validate(); err != nil {
		return nil, corrupt("header", 12, "%v", err)
	}
	n := int(le.Uint32(h[28:]))
	if n > MaxID+1 {
		return nil, corrupt("header", 28, "%d slots above the limit %d", n, MaxID+1)
	}
	entry := le.Uint64(h[32:])
	live := le.Uint64(h[40:])

	x, err := New(o)
	if err != nil {
		return nil, corrupt("header", 12, "%v", err)
	}
	off := headerSize
	section := func(kind uint32, want int) ([]byte, error) {
		name := sectionNames[kind]
		if len(buf)-off < sectionHead {
			return nil, corrupt(name, off, "file ends before the section header")
		}
		if k := le.Uint32(buf[off:]); k != kind {
			return nil, corrupt(name, off, "found section kind %d, want %d", k, kind)
		}
		size := le.Uint64(buf[off+4:])
		if want >= 0 && size != uint64(want) {
			return nil, corrupt(name, off, "payload is %d bytes, want %d", size, want)
		}
		start := off + sectionHead
		if size > uint64(len(buf)-start) {
			return nil, corrupt(name, off, "payload of %d bytes runs past the end of the file (%d bytes)", size, len(buf))
		}
		p := buf[start : start+int(size)]
		if got, want := crc32.Checksum(p, castagnoli), le.Uint32(buf[off+12:]); got != want {
			return nil, corrupt(name, off, "checksum mismatch (stored %08x, computed %08x)", want, got)
		}
		end := start + int(size)
		pad := padLen(int(size))
		if pad > len(buf)-end {
			return nil, corrupt(name, off, "file ends inside the section padding")
		}
		for _, b := range buf[end : end+pad] {
			if b != 0 {
				return nil, corrupt(name, off, "non-zero padding byte")
			}
		}
		off = end + pad
		return p, nil
	}
	// Sizes are checked against the file before anything large is made.
	dim, m0 := o.Dim, 2*o.M
	stateB, err := section(secState, n)
	if err != nil {
		return nil, err
	}
	levelsB, err := section(secLevels, n)
	if err != nil {
		return nil, err
	}
	vecB, err := section(secVectors, n*dim*4)
	if err != nil {
		return nil, err
	}
	links0B, err := section(secLinks0, n*(m0+1)*4)
	if err != nil {
		return nil, err
	}
	upperLen := 0
	for i, l := range levelsB {
		if l > maxLevel {
			return nil, corrupt("levels", headerSize, "id %d has level %d above %d", i, l, maxLevel)
		}
		upperLen += int(l) * (o.M + 1)
	}
	upperB, err := section(secUpper, upperLen*4)
	if err != nil {
		return nil, err
	}
	if off != len(buf) {
		return nil, corrupt("trailer", off, "%d unexpected bytes after the last section", len(buf)-off)
	}

	x.cap = max(n, 1)
	x.vecs.view(f32View(vecB, x.cap*dim), x.cap)
	x.links0.view(u32View(links0B, x.cap*(m0+1)), x.cap)
	x.levels = make([]uint8, x.cap)
	copy(x.levels, levelsB)
	x.state = make([]uint32, x.cap)
	x.upper = make([][]uint32, x.cap)
	upper := u32View(upperB, upperLen)
	var nLive, nDead uint64
	for i := 0; i < n; i++ {
		switch s := uint32(stateB[i]); s {
		case stateEmpty:
			if levelsB[i] != 0 {
				return nil, corrupt("levels", headerSize, "unused id %d has level %d", i, levelsB[i])
			}
		case stateLive, stateDeleted:
			x.state[i] = s
			if s == stateLive {
				nLive++
			} else {
				nDead++
			}
		default:
			return nil, corrupt("state", headerSize, "id %d has unknown state %d", i, s)
		}
		if l := int(levelsB[i]); l > 0 {
			x.upper[i], upper = upper[:l*(o.M+1):l*(o.M+1)], upper[l*(o.M+1):]
		}
	}
	if nLive != live {
		return nil, corrupt("header", 40, "header counts %d live ids, state section %d", live, nLive)
	}
	// Every link must point at a used id that lives on that layer.
	for i := 0; i < n; i++ {
		for l := 0; l <= int(levelsB[i]); l++ {
			ls := x.linksLocked(uint32(i), l)
			cnt := int(ls[0])
			if cnt > x.maxLinks(l) {
				return nil, corrupt(sectionFor(l), headerSize, "id %d layer %d has %d links, limit %d", i, l, cnt, x.maxLinks(l))
			}
			if x.state[i] == stateEmpty && cnt != 0 {
				return nil, corrupt(sectionFor(l), headerSize, "unused id %d has links", i)
			}
			for _, nb := range ls[1 : 1+cnt] {
				if int(nb) >= n || x.state[nb] == stateEmpty || int(levelsB[nb]) < l {
					return nil, corrupt(sectionFor(l), headerSize, "id %d layer %d links to invalid id %d", i, l, nb)
				}
			}
		}
	}
	if e, lvl, ok := decodeEntry(entry); ok {
		if int(e) >= n || x.state[e] == stateEmpty || int(levelsB[e]) != lvl {
			return nil, corrupt("header", 32, "entry point %d at level %d is not a stored node", e, lvl)
		}
	} else if live+nDead > 0 {
		return nil, corrupt("header", 32, "no entry point but %d stored nodes", live+nDead)
	}
	for i := n - 1; i >= 0; i-- {
		if x.state[i] == stateEmpty {
			x.free = append(x.free, uint32(i))
		}
	}
	// The int8 codes are not stored: they are derived from the vectors.
	x.codes.segs = nil
	x.codes.resize(x.cap)
	x.cscale, x.csq = make([]float32, x.cap), make([]float32, x.cap)
	for i := 0; i < n; i++ {
		if x.state[i] != stateEmpty {
			x.setCodeLocked(uint32(i), x.vecLocked(uint32(i)))
		}
	}
	x.tombstones.Store(int64(nDead))
	x.entry.Store(entry)
	x.live.Store(int64(live))
	x.slots.Store(uint32(n))
	x.next = uint32(n)
	return x, nil
}

func sectionFor(l int) string {
	if l == 0 {
		return "links0"
	}
	return "upper"
}

// f32View returns b as n float32s: the same memory when the host is
// little-endian and b is aligned, a decoded copy otherwise. n may exceed
// the data (a zero-node index keeps one empty slot).
func f32View(b []byte, n int) []float32 {
	if littleEndian && len(b) == n*4 && n > 0 && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]float32, n)
	for i := 0; i < len(b)/4; i++ {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func u32View(b []byte, n int) []uint32 {
	if littleEndian && len(b) == n*4 && n > 0 && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]uint32, n)
	for i := 0; i < len(b)/4; i++ {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out
}
