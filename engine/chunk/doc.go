// Package chunk normalises document text and splits it into the chunks
// that lakevec hashes, embeds and versions.
//
// # Key types
//
//   - Normalize: the versioned text normaliser (NormalizerVersion).
//   - Split / Options: the versioned chunker (ChunkerVersion).
//   - Chunk: one chunk's text, the separator that follows it, and the
//     range of blocks it covers.
//   - Hash: SHA-256 of a chunk's text, the content identity.
//
// # Normaliser (version "norm-v1")
//
//  1. CRLF and lone CR become LF.
//  2. Unicode NFC.
//  3. Trailing whitespace is trimmed from every line, so whitespace-only
//     lines become empty (blank).
//  4. Runs of blank lines collapse to one; leading and trailing blank lines
//     are removed. The text ends without a newline.
//
// Two texts that differ only in these respects are the same document
// version: nothing is re-embedded.
//
// # Chunker (version "chunk-v1")
//
// The normalised text is first cut into blocks, each decided from the lines
// around it only (a blank line far away never changes how another
// paragraph is cut):
//
//   - a paragraph: lines up to the next blank line;
//   - a fenced code block: from a ``` or ~~~ line to its closing fence,
//     blank lines included;
//   - a list: list items (-, *, +, 1., 1)) and their indented continuation
//     lines; a blank line whose next line is another item or an indented
//     continuation does not end the list.
//
// Blocks then become chunks:
//
//   - a heading block (a line starting with 1–6 '#') joins the block after
//     it, so a heading always travels with its paragraph;
//   - a block shorter than MinChars (default 50) joins the block after it
//     (the one before it when it is last), so tiny fragments do not become
//     chunks of their own;
//   - a chunk whose token count exceeds MaxTokens (default 254: the 256
//     window of all-MiniLM-L6-v2 less [CLS] and [SEP]) is cut at sentence
//     ends, then at line ends, then between words, packing pieces greedily
//     from its start.
//
// Joining and cutting only look at the block itself and its neighbour, so
// editing block i changes at most the chunks that contain block i (and a
// block that joins a neighbour changes that neighbour's chunk, which then
// contains it). The text is rebuilt exactly by concatenating every chunk's
// Text and Sep, which is how `lakevec show` restores a version.
package chunk
