package wal

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

func openDB(t testing.TB, dir string) *badger.DB {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func payload(i int) []byte { return []byte(fmt.Sprintf("change set %d", i)) }

func TestAppendPendingDoneTrimReopen(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	l, err := Open(db, "kb", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		seq, err := l.Append(byte(i%3), payload(i))
		if err != nil {
			t.Fatal(err)
		}
		if seq != uint64(i) {
			t.Fatalf("append %d got seq %d", i, seq)
		}
	}
	for _, s := range []uint64{1, 2, 4} {
		if err := l.MarkDone(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.MarkDone(99); err == nil {
		t.Fatal("marking an unknown record done succeeded")
	}
	recs, err := l.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Seq != 3 || recs[1].Seq != 5 || string(recs[1].Payload) != "change set 5" || recs[1].Type != 2 {
		t.Fatalf("pending %+v", recs)
	}
	// Another log in the same database is independent.
	other, err := Open(db, "lake-refresh", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if seq, err := other.Append(1, []byte("x")); err != nil || seq != 1 {
		t.Fatalf("second log: seq %d err %v", seq, err)
	}
	n, err := l.TrimDone(4)
	if err != nil || n != 3 {
		t.Fatalf("trim: %d %v", n, err)
	}
	st, _ := l.Stats()
	if st.Pending != 2 || st.Done != 0 || st.Next != 6 {
		t.Fatalf("stats %+v", st)
	}
	// Trim everything that is done, then reopen: numbers are never reused.
	l.MarkDone(3)
	l.MarkDone(5)
	if n, err := l.TrimDone(100); err != nil || n != 2 {
		t.Fatalf("trim all: %d %v", n, err)
	}
	db.Close()
	db = openDB(t, dir)
	defer db.Close()
	l, err = Open(db, "kb", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if seq, err := l.Append(0, nil); err != nil || seq != 6 {
		t.Fatalf("after trim and reopen: seq %d err %v, want 6", seq, err)
	}
	if recs, err := l.Pending(); err != nil || len(recs) != 1 || len(recs[0].Payload) != 0 {
		t.Fatalf("pending after reopen %+v %v", recs, err)
	}
}

func TestOpenRejectsBadNames(t *testing.T) {
	db := openDB(t, t.TempDir())
	defer db.Close()
	for _, name := range []string{"", "a/b", "ü", "x y"} {
		if _, err := Open(db, name, Options{}); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if _, err := Open(db, "ok", Options{Sync: 7}); err == nil {
		t.Error("unknown sync policy accepted")
	}
}

// TestCorruption damages the stored value of record 3 of 5 in different
// ways; every case must stop Pending at record 3 with a CorruptionError,
// and Repair must drop records 3..5 and leave 1..2.
func TestCorruption(t *testing.T) {
	cases := []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"crc byte", func(b []byte) []byte { b[0] ^= 0xff; return b }},
		{"length", func(b []byte) []byte { b[4]++; return b }},
		{"version", func(b []byte) []byte { b[8] = 2; return fixCRC(3, b) }},
		{"type bit", func(b []byte) []byte { b[9] ^= 1; return b }},
		{"payload bit", func(b []byte) []byte { b[len(b)-1] ^= 0x10; return b }},
		{"truncated payload", func(b []byte) []byte { return b[:len(b)-2] }},
		{"truncated header", func(b []byte) []byte { return b[:5] }},
		{"empty", func(b []byte) []byte { return nil }},
		{"extra bytes", func(b []byte) []byte { return append(b, 0) }},
		{"moved from record 2", func(b []byte) []byte { return encodeFrame(2, 1, payload(2)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := openDB(t, t.TempDir())
			defer db.Close()
			l, _ := Open(db, "kb", Options{Sync: SyncNever})
			for i := 1; i <= 5; i++ {
				if _, err := l.Append(1, payload(i)); err != nil {
					t.Fatal(err)
				}
			}
			key := l.key('r', 3)
			err := db.Update(func(txn *badger.Txn) error {
				it, err := txn.Get(key)
				if err != nil {
					return err
				}
				v, err := it.ValueCopy(nil)
				if err != nil {
					return err
				}
				return txn.Set(key, c.damage(v))
			})
			if err != nil {
				t.Fatal(err)
			}
			recs, err := l.Pending()
			var ce *CorruptionError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || ce.Seq != 3 || ce.Log != "kb" {
				t.Fatalf("pending: %v, want a CorruptionError at record 3", err)
			}
			if len(recs) != 2 || recs[0].Seq != 1 || recs[1].Seq != 2 {
				t.Fatalf("records before the damage: %+v", recs)
			}
			n, err := l.Repair()
			if err != nil || n != 3 {
				t.Fatalf("repair dropped %d (%v), want 3", n, err)
			}
			recs, err = l.Pending()
			if err != nil || len(recs) != 2 {
				t.Fatalf("after repair: %+v %v", recs, err)
			}
			st, _ := l.Stats()
			if st.Dropped != 3 || st.Pending != 2 {
				t.Fatalf("stats after repair %+v", st)
			}
			if seq, err := l.Append(1, nil); err != nil || seq != 6 {
				t.Fatalf("append after repair: seq %d (%v), want 6: dropped numbers must not be reused", seq, err)
			}
		})
	}
}

func fixCRC(seq uint64, b []byte) []byte {
	c := frameCRC(seq, b[4:])
	b[0], b[1], b[2], b[3] = byte(c), byte(c>>8), byte(c>>16), byte(c>>24)
	return b
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add(uint64(1), encodeFrame(1, 3, []byte("hello")))
	f.Add(uint64(7), encodeFrame(7, 0, nil))
	f.Add(uint64(2), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, seq uint64, b []byte) {
		r, err := DecodeFrame(seq, b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not marked corrupt: %v", err)
			}
			return
		}
		// What decodes re-encodes to the same bytes.
		if got := encodeFrame(seq, r.Type, r.Payload); string(got) != string(b) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// TestCrashKeepsAcknowledgedRecords runs a child process that appends
// records as fast as it can and prints each acknowledged sequence number,
// kills it with SIGKILL mid-stream, and checks that every acknowledged
// record is in the log after reopening, intact and in order.
func TestCrashKeepsAcknowledgedRecords(t *testing.T) {
	if os.Getenv("WAL_CRASH_CHILD") != "" {
		crashChild()
		return
	}
	dir := t.TempDir()
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledgedRecords$")
		cmd.Env = append(os.Environ(), "WAL_CRASH_CHILD="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var acked []uint64
		sc := bufio.NewScanner(out)
		deadline := time.Now().Add(time.Duration(300+round*200) * time.Millisecond)
		for sc.Scan() {
			if s, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
				n, _ := strconv.ParseUint(s, 10, 64)
				acked = append(acked, n)
			}
			if time.Now().After(deadline) && len(acked) > 0 {
				break
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if len(acked) == 0 {
			t.Fatal("child acknowledged nothing")
		}
		db := openDB(t, dir)
		l, err := Open(db, "crash", Options{})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := l.Pending()
		if err != nil {
			t.Fatalf("round %d: log after kill -9: %v", round, err)
		}
		have := map[uint64]string{}
		for i, r := range recs {
			if i > 0 && r.Seq <= recs[i-1].Seq {
				t.Fatalf("records out of order")
			}
			have[r.Seq] = string(r.Payload)
		}
		for _, s := range acked {
			if have[s] != fmt.Sprintf("record %d", s) {
				t.Fatalf("round %d: acknowledged record %d lost or damaged (got %q)", round, s, have[s])
			}
		}
		t.Logf("round %d: %d acknowledged, %d in the log after kill -9", round, len(acked), len(recs))
		db.Close()
	}
}

func crashChild() {
	dir := os.Getenv("WAL_CRASH_CHILD")
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	l, err := Open(db, "crash", Options{})
	if err != nil {
		fmt.Println("open wal:", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	for {
		seq := l.NextSeq()
		got, err := l.Append(1, []byte(fmt.Sprintf("record %d", seq)))
		if err != nil || got != seq {
			fmt.Println("append:", err)
			os.Exit(1)
		}
		fmt.Fprintf(w, "acked %d\n", got)
		w.Flush()
	}
}

func TestSkipTo(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	l, _ := Open(db, "kb", Options{})
	if err := l.SkipTo(40); err != nil {
		t.Fatal(err)
	}
	if err := l.SkipTo(10); err != nil { // never backwards
		t.Fatal(err)
	}
	db.Close()
	db = openDB(t, dir)
	defer db.Close()
	l, _ = Open(db, "kb", Options{})
	if seq, err := l.Append(1, nil); err != nil || seq != 40 {
		t.Fatalf("after SkipTo(40) and reopen: seq %d %v", seq, err)
	}
}
