// Package bert is a pure-Go (no cgo, no network) BERT sentence encoder for
// sentence-transformers models such as all-MiniLM-L6-v2. Encoder
// implements engine/embed.Embedder.
//
// # Loading
//
// Load(dir) reads a Hugging Face model directory: config.json (BERT
// hyper-parameters), tokenizer.json or vocab.txt (+ tokenizer_config.json),
// model.safetensors (F32, F16 or BF16), sentence_bert_config.json
// (max_seq_length: 256 for MiniLM, not tokenizer.json's 128) and
// 1_Pooling/config.json (mean, cls or max pooling). Every error names the
// file, and for weights the tensor. FindModelDir locates a snapshot in the
// local Hugging Face cache (HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME or
// ~/.cache/huggingface/hub). ModelID is
// "bert:<name>@<first 12 hex of sha256(model.safetensors)>".
//
// # Pipeline
//
// Embed tokenizes every text (package wordpiece: exact Hugging Face
// BertWordPiece ids, truncated to MaxSeqLength), sorts the texts by length
// and runs them in batches of up to 64 sequences / 8192 tokens. A batch is
// packed without padding: the activations are one [tokens × hidden] matrix
// and attention runs per sequence over its own tokens only. This is
// exactly what BertModel computes for the real tokens of a padded batch
// (masked keys get exp(finfo.min) = 0), it skips the wasted work on pad
// tokens, and padding can never leak into the mean pooling. A vector is
// therefore bit-identical whatever else is in its batch.
//
// The forward pass per layer (model.forward): fused Q/K/V projection (one
// [3H×H] product); per (sequence, head) scores QKᵀ, softmax(scores/√d),
// times V; output projection + residual + LayerNorm; FFN with GELU (erf
// form, "gelu"; also gelu_new/gelu_pytorch_tanh and relu) + residual +
// LayerNorm (eps from config). Then pooling over the sequence's tokens and
// L2 normalisation.
//
// # Speed
//
// Matrix products use package gemm (packed weights, cache blocking, an
// AVX-512 12×32 or AVX2 6×16 register-tile micro-kernel). Linear layers are
// split over goroutines by blocks of 48 token rows (or by output columns
// for short inputs) with the bias, GELU, residual and LayerNorm applied to
// each finished row block while it is in cache; attention is split by
// (sequence, head). GELU and softmax use AVX2 kernels (mathx_amd64.s): erf
// as a fitted rational function (error 3e-7), exp by range reduction and a
// degree-6 polynomial. With the purego tag or without AVX2/FMA, portable
// Go code is used.
//
// On this project's 2-core (Zen 5) machines, quiet, BenchmarkEmbed (32 ×
// 128 tokens) runs at ~110 sentences/s; PyTorch 1.13 with 2 threads runs
// the same shapes at ~46 with the image's OPENBLAS_CORETYPE=Haswell and
// ~60 with OpenBLAS's own AVX-512 kernels. testdata/bench_vs_torch.sh
// measures both, alternating runs, and prints the ratio to the faster.
//
// # Testing
//
//   - Parity (encoder_test.go): a random model with exactly MiniLM's 104
//     tensor names and shapes, written as safetensors, against the plain
//     PyTorch reference testdata/bert_ref.py on a padded batch of different
//     lengths (one truncated at 256): max |diff| ≤ 1e-4 (observed ~2e-7).
//     Skipped, saying so, when /usr/bin/python3 cannot import torch.
//   - Reference (reference_test.go): REFERENCE.md's published similarities
//     for the real all-MiniLM-L6-v2, when a complete model directory is
//     found ($LAKEVEC_MINILM_DIR, the HF cache, shared/); skipped otherwise
//     with the places looked at.
//   - BenchmarkEmbed: 32 × 128 tokens; testdata/bench_vs_torch.sh runs it
//     alternately with the PyTorch baseline and prints the ratio.
//
// # Key types
//
//   - Encoder: Load, FindModelDir, ModelID, Dim, MaxSeqLength, Embed,
//     Tokens, SetWorkers.
//   - Config: the config.json fields used.
//   - Sub-packages: wordpiece (tokenizer), safetensors (reader), gemm
//     (matrix kernels).
package bert
