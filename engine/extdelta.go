package engine

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// A delta segment holds the rows one version of an external collection
// added to the graph: their ids and vectors, as read from the lake. It is
// written and synced before the version commits, and replayed on open
// after the index checkpoint, so a restart never needs the lake (whose
// files the owner may have expired since).
//
// Format (little endian):
//
//	magic "LVXD" | format u8 = 1 | dim u32 | count u32
//	count × ( id u32 | dim × float32 )
//	crc32c u32 of everything before it
const (
	deltaMagic   = "LVXD"
	deltaVersion = 1
	deltaHeader  = 4 + 1 + 4 + 4
)

// maxDeltaRows bounds what a header may claim before the size check.
const maxDeltaRows = 1 << 30

func (x *External) deltaPath(gen uint32) string {
	return filepath.Join(x.dir, "index", fmt.Sprintf("x-%s-d%d.vec", x.meta.Name, gen))
}

// encodeDelta returns the segment bytes of rows ids with vectors vecs.
func encodeDelta(dim int, ids []uint32, vecs [][]float32) []byte {
	b := make([]byte, 0, deltaHeader+len(ids)*(4+4*dim)+4)
	b = append(b, deltaMagic...)
	b = append(b, deltaVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(dim))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ids)))
	for i, id := range ids {
		b = binary.LittleEndian.AppendUint32(b, id)
		for _, v := range vecs[i] {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// errDelta marks a damaged delta segment.
var errDelta = errors.New("damaged delta segment")

// decodeDelta parses a segment; any inconsistency is an error wrapping
// errDelta.
func decodeDelta(b []byte) (dim int, ids []uint32, vecs [][]float32, err error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", errDelta, fmt.Sprintf(format, args...))
	}
	if len(b) < deltaHeader+4 {
		return 0, nil, nil, bad("%d bytes is shorter than a header", len(b))
	}
	if string(b[:4]) != deltaMagic {
		return 0, nil, nil, bad("no magic")
	}
	if b[4] != deltaVersion {
		return 0, nil, nil, bad("format %d, this build reads %d", b[4], deltaVersion)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return 0, nil, nil, bad("checksum mismatch")
	}
	d := binary.LittleEndian.Uint32(b[5:])
	n := binary.LittleEndian.Uint32(b[9:])
	if d == 0 || d > 1<<16 || n > maxDeltaRows {
		return 0, nil, nil, bad("dimension %d, %d rows", d, n)
	}
	rec := 4 + 4*int64(d)
	if int64(len(body))-deltaHeader != int64(n)*rec {
		return 0, nil, nil, bad("%d bytes of rows for %d rows of dimension %d", len(body)-deltaHeader, n, d)
	}
	dim = int(d)
	ids = make([]uint32, n)
	vecs = make([][]float32, n)
	flat := make([]float32, int(n)*dim)
	p := body[deltaHeader:]
	for i := range ids {
		ids[i] = binary.LittleEndian.Uint32(p)
		p = p[4:]
		v := flat[i*dim : (i+1)*dim : (i+1)*dim]
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(p))
			p = p[4:]
		}
		vecs[i] = v
	}
	return dim, ids, vecs, nil
}

// writeDelta publishes the segment of version gen atomically and durably.
func (x *External) writeDelta(gen uint32, ids []uint32, vecs [][]float32) error {
	path := x.deltaPath(gen)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err = w.Write(encodeDelta(x.meta.Dim, ids, vecs)); err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if e := f.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write delta segment %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// deltaGens lists the versions that have a delta segment on disk.
func (x *External) deltaGens() ([]uint32, error) {
	ents, err := os.ReadDir(filepath.Join(x.dir, "index"))
	if err != nil {
		return nil, err
	}
	prefix := "x-" + x.meta.Name + "-d"
	var out []uint32
	for _, e := range ents {
		n, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		if strings.HasSuffix(n, ".tmp") {
			os.Remove(filepath.Join(x.dir, "index", e.Name())) // an interrupted write
			continue
		}
		n, ok = strings.CutSuffix(n, ".vec")
		if g, err := strconv.ParseUint(n, 10, 32); ok && err == nil {
			out = append(out, uint32(g))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// replayDeltas inserts the rows of the versions after the checkpoint.
// Segments of versions that never committed (a crash between writing the
// segment and the commit) are removed.
func (x *External) replayDeltas(ctx context.Context) error {
	gens, err := x.deltaGens()
	if err != nil {
		return err
	}
	for _, g := range gens {
		path := x.deltaPath(g)
		if g <= x.meta.CkptGen || g > x.meta.Gen {
			if g > x.meta.Gen {
				os.Remove(path)
			}
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dim, ids, vecs, err := decodeDelta(b)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if dim != x.meta.Dim {
			return fmt.Errorf("%s: %w: dimension %d, the collection's is %d", path, errDelta, dim, x.meta.Dim)
		}
		keep := 0
		for i, id := range ids {
			if id >= x.meta.NextRow {
				return fmt.Errorf("%s: %w: row id %d beyond %d rows", path, errDelta, id, x.meta.NextRow)
			}
			if !x.idx.Contains(id) {
				ids[keep], vecs[keep] = id, vecs[i]
				keep++
			}
		}
		if err := x.idx.InsertBatch(ctx, ids[:keep], vecs[:keep], 0); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	// Every version after the checkpoint must have its segment (versions
	// that added no rows write an empty one).
	have := map[uint32]bool{}
	for _, g := range gens {
		have[g] = true
	}
	for g := x.meta.CkptGen + 1; g <= x.meta.Gen; g++ {
		if !have[g] {
			return fmt.Errorf("delta segment of version %d is missing (%s): the index cannot be restored; attach the collection again", g, x.deltaPath(g))
		}
	}
	return nil
}

// removeDeltas deletes the segments a checkpoint at version upTo covers.
func (x *External) removeDeltas(upTo uint32) {
	gens, _ := x.deltaGens()
	for _, g := range gens {
		if g <= upTo {
			os.Remove(x.deltaPath(g))
		}
	}
}
