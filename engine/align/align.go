// Package align matches a document's new chunk sequence against the one
// stored for its previous version, so that only new content is embedded
// and every chunk keeps its identity across versions.
//
// Identity is (document, chunk key), never the content hash alone: two
// documents holding the same paragraph have two chunks, and deleting it
// from one never touches the other. Within one document a key names one
// chunk version; a chunk whose content changes gets a new key that records
// the old one as its parent (lineage).
//
// # Algorithm
//
//  1. Unchanged: the longest common subsequence of the two hash sequences
//     (after stripping the common prefix and suffix). These chunks keep
//     their key; their position may shift when chunks are added before
//     them, which is not a change. Duplicate paragraphs are matched one to
//     one, in order.
//  2. Moved: a new chunk outside the LCS whose hash equals a stored chunk
//     also outside it (the paragraph went elsewhere in the document). It
//     keeps the stored key; nothing is re-embedded.
//  3. Modified: in each gap between consecutive LCS matches, the remaining
//     stored and new chunks are paired in order, each new chunk with the
//     first later stored one that similar accepts (any, when similar is
//     nil); each pair is a new chunk whose parent is the stored one. So an
//     edited paragraph keeps its lineage, and an unrelated paragraph that
//     happens to replace a deleted one does not inherit it.
//  4. Whatever is left is added (new key, no parent) or removed.
package align

import "fmt"

// Hash is a chunk's content hash (SHA-256 of its normalised text).
type Hash = [32]byte

// Stored is a chunk of the stored version, in document order.
type Stored struct {
	Key  uint32
	Hash Hash
}

// Kind says what happened to a chunk.
type Kind uint8

const (
	Unchanged Kind = iota + 1
	Moved
	Modified
	Added
	Removed
)

func (k Kind) String() string {
	switch k {
	case Unchanged:
		return "unchanged"
	case Moved:
		return "moved"
	case Modified:
		return "modified"
	case Added:
		return "added"
	case Removed:
		return "removed"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Chunk is the outcome for one chunk of the new version.
type Chunk struct {
	Pos    int // position in the new version
	Kind   Kind
	Key    uint32 // the stored key (unchanged, moved) or a fresh one
	Parent uint32 // for Modified: the stored key it replaces; else 0
	OldPos int    // position in the stored version, -1 for Added
}

// Result is the alignment of a new version against the stored one.
type Result struct {
	Chunks  []Chunk  // one per new chunk, in new order
	Removed []Stored // stored chunks absent from the new version (modified parents excluded)
}

// Counts returns how many chunks of each kind the result holds.
func (r Result) Counts() map[Kind]int {
	c := map[Kind]int{}
	for _, ch := range r.Chunks {
		c[ch.Kind]++
	}
	c[Removed] = len(r.Removed)
	return c
}

// Align aligns the new hashes against the stored chunks. nextKey hands out
// fresh keys (never one in use); keys are never 0. similar, if not nil,
// says whether new chunk newPos can be an edit of stored chunk oldPos.
func Align(stored []Stored, next []Hash, nextKey func() uint32, similar func(oldPos, newPos int) bool) Result {
	n, m := len(stored), len(next)
	oldMatch := make([]int, n) // new position matched, or -1
	newMatch := make([]int, m) // stored position matched, or -1
	for i := range oldMatch {
		oldMatch[i] = -1
	}
	for j := range newMatch {
		newMatch[j] = -1
	}
	// 1. LCS, after the common prefix and suffix.
	pre := 0
	for pre < n && pre < m && stored[pre].Hash == next[pre] {
		oldMatch[pre], newMatch[pre] = pre, pre
		pre++
	}
	suf := 0
	for suf < n-pre && suf < m-pre && stored[n-1-suf].Hash == next[m-1-suf] {
		oldMatch[n-1-suf], newMatch[m-1-suf] = m-1-suf, n-1-suf
		suf++
	}
	lcs(stored[pre:n-suf], next[pre:m-suf], pre, oldMatch, newMatch)

	res := Result{Chunks: make([]Chunk, m)}
	for j := range next {
		res.Chunks[j] = Chunk{Pos: j, OldPos: -1}
		if i := newMatch[j]; i >= 0 {
			res.Chunks[j] = Chunk{Pos: j, Kind: Unchanged, Key: stored[i].Key, OldPos: i}
		}
	}
	// 2. Moved: same content outside the LCS.
	free := map[Hash][]int{}
	for i := range stored {
		if oldMatch[i] < 0 {
			free[stored[i].Hash] = append(free[stored[i].Hash], i)
		}
	}
	moved := make([]bool, n)
	for j := range next {
		if newMatch[j] >= 0 {
			continue
		}
		if c := free[next[j]]; len(c) > 0 {
			i := c[0]
			free[next[j]] = c[1:]
			moved[i] = true
			newMatch[j] = i
			res.Chunks[j] = Chunk{Pos: j, Kind: Moved, Key: stored[i].Key, OldPos: i}
		}
	}
	// 3. Modified: pair leftovers within each gap between LCS anchors.
	// Walk both sequences, cutting at each unchanged match.
	i, j := 0, 0
	for i <= n || j <= m {
		// Find the next anchor (an Unchanged pair) at or after (i, j).
		ai, aj := n, m
		for jj := j; jj < m; jj++ {
			if res.Chunks[jj].Kind == Unchanged {
				ai, aj = res.Chunks[jj].OldPos, jj
				break
			}
		}
		var olds, news []int
		for ; i < ai; i++ {
			if oldMatch[i] < 0 && !moved[i] {
				olds = append(olds, i)
			}
		}
		for ; j < aj; j++ {
			if newMatch[j] < 0 {
				news = append(news, j)
			}
		}
		paired := make([]bool, len(olds))
		next := 0 // pairs keep document order: search after the last pair
		for _, nj := range news {
			res.Chunks[nj] = Chunk{Pos: nj, Kind: Added, Key: nextKey(), OldPos: -1}
			for k := next; k < len(olds); k++ {
				if oi := olds[k]; similar == nil || similar(oi, nj) {
					res.Chunks[nj].Kind, res.Chunks[nj].Parent, res.Chunks[nj].OldPos = Modified, stored[oi].Key, oi
					paired[k], next = true, k+1
					break
				}
			}
		}
		for k, oi := range olds {
			if !paired[k] {
				res.Removed = append(res.Removed, stored[oi])
			}
		}
		i, j = ai+1, aj+1
		if ai == n && aj == m {
			break
		}
	}
	return res
}

// lcs marks a longest common subsequence of a and b (offset by base in
// the full sequences) in oldMatch/newMatch.
func lcs(a []Stored, b []Hash, base int, oldMatch, newMatch []int) {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return
	}
	// dp[i][j] = LCS length of a[i:], b[j:], one flat slice.
	w := m + 1
	dp := make([]int32, (n+1)*w)
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i].Hash == b[j] {
				dp[i*w+j] = dp[(i+1)*w+j+1] + 1
			} else {
				dp[i*w+j] = max(dp[(i+1)*w+j], dp[i*w+j+1])
			}
		}
	}
	for i, j := 0, 0; i < n && j < m; {
		switch {
		case a[i].Hash == b[j]:
			oldMatch[base+i], newMatch[base+j] = base+j, base+i
			i++
			j++
		case dp[(i+1)*w+j] >= dp[i*w+j+1]:
			i++
		default:
			j++
		}
	}
}
