package snapshot

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// parseFile reads "<kind> <path> [ref=<file>] [off=<n>]".
func parseFile(t *testing.T, fields []string) File {
	t.Helper()
	if len(fields) < 2 {
		t.Fatalf("want <kind> <path>: %q", fields)
	}
	f := File{Path: fields[1], ContentOffset: -1}
	switch fields[0] {
	case "data":
		f.Kind = Data
	case "pos":
		f.Kind = PositionDeletes
	case "eq":
		f.Kind = EqualityDeletes
	default:
		t.Fatalf("unknown kind %q", fields[0])
	}
	for _, kv := range fields[2:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "ref":
			f.ReferencedDataFile = v
		case "off":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			f.ContentOffset = n
		default:
			t.Fatalf("unknown attribute %q", kv)
		}
	}
	return f
}

// parseChange reads lines "+<file>" / "-<file>".
func parseChange(t *testing.T, lines []string) Change {
	t.Helper()
	added, removed := map[string]File{}, map[string]File{}
	for _, l := range lines {
		f := parseFile(t, strings.Fields(l[1:]))
		switch l[0] {
		case '+':
			added[f.Key()] = f
		case '-':
			removed[f.Key()] = f
		default:
			t.Fatalf("change line must start with + or -: %q", l)
		}
	}
	return newChange(added, removed)
}

func fileString(f File) string {
	s := f.Kind.String() + " " + f.Key()
	if f.ReferencedDataFile != "" {
		s += " ref=" + f.ReferencedDataFile
	}
	return s
}

func changeString(c Change) string {
	var b strings.Builder
	for _, f := range c.Added() {
		fmt.Fprintf(&b, "+%s\n", fileString(f))
	}
	for _, f := range c.Removed() {
		fmt.Fprintf(&b, "-%s\n", fileString(f))
	}
	if b.Len() == 0 {
		return "no change\n"
	}
	return b.String()
}

func stateString(s State) string {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range s.Files {
			if !yield(k) {
				return
			}
		}
	})
	var b strings.Builder
	fmt.Fprintf(&b, "snapshot %d\n", s.SnapshotID)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s\n", fileString(s.Files[k]))
	}
	return b.String()
}

func lines(input string) []string {
	var out []string
	for _, l := range strings.Split(input, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// TestDataDriven runs testdata/*: state, diff, entries (ChangeOf), net and
// apply. Regenerate the expectations with -rewrite.
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		states := map[int64]State{}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "state":
				var id int64
				d.ScanArgs(t, "id", &id)
				var files []File
				for _, l := range lines(d.Input) {
					files = append(files, parseFile(t, strings.Fields(l)))
				}
				s, err := NewState(id, id, files)
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				states[id] = s
				return stateString(s)
			case "diff":
				var from, to int64
				d.ScanArgs(t, "from", &from)
				d.ScanArgs(t, "to", &to)
				c := Diff(states[from], states[to])
				// Property: applying the diff to from gives to.
				got, err := Apply(states[from], c, to, to)
				if err != nil {
					t.Fatalf("apply diff: %v", err)
				}
				if stateString(got) != stateString(states[to]) {
					t.Fatalf("apply(from, diff) =\n%swant\n%s", stateString(got), stateString(states[to]))
				}
				return changeString(c)
			case "entries":
				var snap int64
				d.ScanArgs(t, "snapshot", &snap)
				var es []Entry
				for _, l := range lines(d.Input) {
					fs := strings.Fields(l)
					var st Status
					switch fs[0] {
					case "added":
						st = Added
					case "deleted":
						st = Deleted
					case "existing":
						st = Existing
					default:
						t.Fatalf("unknown status %q", fs[0])
					}
					id, err := strconv.ParseInt(fs[1], 10, 64)
					if err != nil {
						t.Fatal(err)
					}
					es = append(es, Entry{Status: st, SnapshotID: id, File: parseFile(t, fs[2:])})
				}
				return changeString(ChangeOf(snap, es))
			case "net":
				var changes []Change
				for _, block := range strings.Split(d.Input, ";") {
					changes = append(changes, parseChange(t, lines(block)))
				}
				return changeString(Net(changes...))
			case "apply":
				var from, to int64
				d.ScanArgs(t, "from", &from)
				d.ScanArgs(t, "to", &to)
				s, err := Apply(states[from], parseChange(t, lines(d.Input)), to, to)
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				states[to] = s
				return stateString(s)
			default:
				t.Fatalf("unknown command %q", d.Cmd)
				return ""
			}
		})
	})
}
