package engine

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	badger "github.com/dgraph-io/badger/v4"
)

// Records in Badger. Every value decoded from bytes is framed and
// checksummed, so a damaged store is an error, never a silent reset:
//
//	version(1) | kind(1) | JSON payload | crc32c(4) of the bytes before it
//
// Keys (one Badger database per data directory; <c> is a collection name):
//
//	meta/<c>                     collMeta
//	doc/<c>/<doc id>             docState: the current version of a document
//	docver/<c>/<doc id>\x00<seq> docVersion: one version (seq big-endian)
//	row/<c>/<row>                chunkVersion (row big-endian)
//	chg/<c>/<seq>                change: rows opened and closed by a batch
//	emb/<model id>\x00<hash>     embedding: float32 little-endian + crc
//	wal/...                      the write-ahead log (package wal)
const recordVersion = 1

const (
	kindMeta    byte = 1
	kindDoc     byte = 2
	kindDocVer  byte = 3
	kindRow     byte = 4
	kindChange  byte = 5
	kindBatch   byte = 6 // WAL payload
	kindEmbCRC  byte = 7
	openEnd          = math.MaxInt64 // valid_to of a chunk version still valid
	recordFrame      = 2 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorruptStore matches every *CorruptStoreError.
var ErrCorruptStore = errors.New("corrupt store record")

// CorruptStoreError names a record of the store that failed to decode.
type CorruptStoreError struct {
	Key    string
	Reason string
}

func (e *CorruptStoreError) Error() string {
	return fmt.Sprintf("corrupt store record %q: %s", e.Key, e.Reason)
}

// Is reports ErrCorruptStore as a match.
func (e *CorruptStoreError) Is(target error) bool { return target == ErrCorruptStore }

func encodeRecord(kind byte, v any) ([]byte, error) {
	p, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(p)+recordFrame)
	b = append(b, recordVersion, kind)
	b = append(b, p...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

func decodeRecord(key []byte, b []byte, kind byte, v any) error {
	bad := func(format string, args ...any) error {
		return &CorruptStoreError{Key: string(key), Reason: fmt.Sprintf(format, args...)}
	}
	if len(b) < recordFrame {
		return bad("value of %d bytes is shorter than its frame", len(b))
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return bad("checksum mismatch (stored %08x, computed %08x)", sum, got)
	}
	if body[0] != recordVersion {
		return bad("unsupported record version %d", body[0])
	}
	if body[1] != kind {
		return bad("record kind %d, want %d", body[1], kind)
	}
	if err := json.Unmarshal(body[2:], v); err != nil {
		return bad("%v", err)
	}
	return nil
}

func encodeVector(v []float32) []byte {
	b := make([]byte, 0, 4*len(v)+5)
	b = append(b, kindEmbCRC)
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeVector(key []byte, b []byte, dim int) ([]float32, error) {
	if len(b) != 4*dim+5 || b[0] != kindEmbCRC {
		return nil, &CorruptStoreError{Key: string(key), Reason: fmt.Sprintf("embedding of %d bytes, want %d", len(b), 4*dim+5)}
	}
	if got, want := crc32.Checksum(b[:len(b)-4], castagnoli), binary.LittleEndian.Uint32(b[len(b)-4:]); got != want {
		return nil, &CorruptStoreError{Key: string(key), Reason: "embedding checksum mismatch"}
	}
	v := make([]float32, dim)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[1+4*i:]))
	}
	return v, nil
}

func metaKey(c string) []byte { return []byte("meta/" + c) }
func docKey(c, doc string) []byte {
	return []byte("doc/" + c + "/" + doc)
}
func docPrefix(c string) []byte { return []byte("doc/" + c + "/") }
func docVerPrefix(c, doc string) []byte {
	return []byte("docver/" + c + "/" + doc + "\x00")
}
func docVerKey(c, doc string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(docVerPrefix(c, doc), seq)
}
func rowPrefix(c string) []byte { return []byte("row/" + c + "/") }
func rowKey(c string, row uint32) []byte {
	return binary.BigEndian.AppendUint32(rowPrefix(c), row)
}
func chgPrefix(c string) []byte { return []byte("chg/" + c + "/") }
func chgKey(c string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(chgPrefix(c), seq)
}
func embKey(model string, hash string) []byte { return []byte("emb/" + model + "\x00" + hash) }

func hexHash(h [32]byte) string { return hex.EncodeToString(h[:]) }

// getRecord reads and decodes one record; found is false when the key is
// absent.
func getRecord(txn *badger.Txn, key []byte, kind byte, v any) (found bool, err error) {
	it, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, it.Value(func(b []byte) error { return decodeRecord(key, b, kind, v) })
}

// collMeta describes a collection.
type collMeta struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"` // "documents"
	ModelID    string `json:"model_id"`
	Dim        int    `json:"dim"`
	Normalizer string `json:"normalizer"`
	Chunker    string `json:"chunker"`
	NextRow    uint32 `json:"next_row"`
	AppliedSeq uint64 `json:"applied_seq"` // last batch applied to the store
	LakeSeq    uint64 `json:"lake_seq"`    // last batch committed to the lake
	LastAt     int64  `json:"last_at"`     // latest valid time ingested (ms)
	Created    int64  `json:"created"`
}

// docChunk is one chunk of a document version, in order.
type docChunk struct {
	Key  uint32 `json:"k"`
	Row  uint32 `json:"r"`
	Hash string `json:"h"`
	Sep  string `json:"s,omitempty"`
}

// docState is the current version of a document.
type docState struct {
	DocID    string     `json:"doc"`
	Deleted  bool       `json:"deleted,omitempty"`
	LastAt   int64      `json:"at"`
	LastSeq  uint64     `json:"seq"`
	NextKey  uint32     `json:"next_key"`
	Versions int        `json:"versions"`
	Chunks   []docChunk `json:"chunks,omitempty"`
}

// docVersion is one version of a document, for history, show and diff.
type docVersion struct {
	Seq    uint64         `json:"seq"`
	At     int64          `json:"at"`
	Op     string         `json:"op"` // "upsert" or "delete"
	Chunks []docChunk     `json:"chunks,omitempty"`
	Counts map[string]int `json:"counts,omitempty"`
}

// chunkVersion is one version of one chunk: a row of the history.
type chunkVersion struct {
	Row      uint32 `json:"row"`
	DocID    string `json:"doc"`
	Key      uint32 `json:"key"`
	Parent   uint32 `json:"parent,omitempty"`
	Hash     string `json:"hash"`
	Text     string `json:"text"`
	Position int    `json:"pos"`
	From     int64  `json:"from"`
	To       int64  `json:"to"` // openEnd while valid
	SeqFrom  uint64 `json:"seq_from"`
	SeqTo    uint64 `json:"seq_to,omitempty"`
}

// change lists the rows a batch opened and closed.
type change struct {
	Opened []uint32 `json:"opened,omitempty"`
	Closed []uint32 `json:"closed,omitempty"`
}

// errStop ends a scanRecords walk early without an error.
var errStop = errors.New("stop scanning")

// scanRecords decodes every record of kind under prefix in key order,
// starting at seek (nil: the first), and calls fn with each until fn
// returns errStop (the walk ends, no error) or another error.
func scanRecords[T any](txn *badger.Txn, prefix, seek []byte, kind byte, fn func(key []byte, v *T) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	it := txn.NewIterator(opts)
	defer it.Close()
	if seek == nil {
		seek = prefix
	}
	for it.Seek(seek); it.ValidForPrefix(prefix); it.Next() {
		var v T
		key := it.Item().KeyCopy(nil)
		if err := it.Item().Value(func(b []byte) error { return decodeRecord(key, b, kind, &v) }); err != nil {
			return err
		}
		if err := fn(key, &v); err != nil {
			if err == errStop {
				return nil
			}
			return err
		}
	}
	return nil
}
