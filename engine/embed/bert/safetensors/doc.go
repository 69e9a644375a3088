// Package safetensors reads the Hugging Face safetensors format:
//
//	u64 little-endian N | N bytes of JSON header (UTF-8, may be space padded) | data
//
// The header maps tensor names to {"dtype", "shape", "data_offsets": [begin,
// end]} (offsets relative to the start of the data section, i.e. byte 8+N)
// plus an optional "__metadata__" map of strings. ParseHeader validates
// everything it can without reading data: known dtype, non-negative shape,
// end-begin = elements × dtype size (overflow-checked), no duplicate names,
// and tensors tiling the data section with no gaps or overlaps.
//
// Data is read lazily (File.Raw, Float32s, Int64s) with ReadAt, so a file
// whose tail is missing still opens: Truncated lists the tensors that are
// not fully present, and reading one fails with an error that wraps
// ErrTruncated and names the file, the tensor and how many bytes exist.
// F16, BF16 and F64 are converted to float32 exactly (F64 rounds).
//
// Key types: Header (Tensors in data order, Lookup, Metadata), Tensor,
// File (Open, NewReader, Raw, Float32s, Int64s, Truncated).
package safetensors
