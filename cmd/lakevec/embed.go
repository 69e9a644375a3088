package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lakevec/lakevec/engine/embed"
)

// lexicalNotice is printed to stderr once when no embedder is configured.
const lexicalNotice = "lexical embedder: matches words, not meaning; use --embedder bert --model-dir DIR (all-MiniLM-L6-v2) or --embedder openai for semantic search"

// embedBatch is how many texts are embedded per call; lines from stdin are
// streamed in batches of this size.
const embedBatch = 256

// maxStdinLine bounds one line of stdin.
const maxStdinLine = 16 << 20

// embedFlags are the flags of `lakevec embed`.
type embedFlags struct {
	kind, modelDir, openaiURL, openaiModel string
	json, tokens                           bool
}

// newEmbedCmd is `lakevec embed`: the vectors (or tokens) an embedder makes
// of some texts, to check what a model sees. The logic lives in package
// embed; this file only parses flags and prints.
func newEmbedCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl embedFlags
	cmd := &cobra.Command{
		Use:   "embed TEXT... [--embedder lexical|bert|openai] [flags]",
		Short: "Print the embedding or the tokens of each text",
		Long: `embed prints, for each TEXT, one line on stdout: the model id, the dimension
and the first 8 values of its vector, then the text (a sparse vector, like
the lexical embedder's, shows its first 8 non-zero values as {index:value}
and how many there are), or with --json one JSON object
{"text","model","dim","embedding"}. Without TEXT arguments it reads one text
per line from stdin (blank lines are skipped), which must then be a pipe or
a file.

Embedders:
  lexical  the default, offline and instant. It matches words, not meaning:
           texts are close when they share words and adjacent word pairs,
           never because they say the same thing in other words (feature
           hashing into 384 dimensions, model id lexical-hash-v1-384).
  bert     the native all-MiniLM-L6-v2 encoder, for semantic search: give
           the model directory with --model-dir, or it is looked for in the
           usual model caches.
  openai   any OpenAI-compatible /v1/embeddings service (OpenAI, Ollama,
           vLLM, text-embeddings-inference, llama.cpp, LM Studio):
           --openai-url (default https://api.openai.com/v1) and
           --openai-model; the API key is read from $OPENAI_API_KEY.
Giving --model-dir selects bert, and --openai-url or --openai-model selects
openai. With none of these the lexical embedder is used and a notice saying
so is printed to stderr.

--tokens shows what the model reads: with bert, the token ids including the
special tokens, after truncation to the model's maximum length (a notice on
stderr says when a text reaches it); with lexical, which has no token ids,
the normalised words it hashes (its features are these words and each
adjacent pair). Alone it prints them, one text per line; with --json it adds
"tokens" (bert) or "words" (lexical) to each object. The openai embedder
cannot show tokens: the service tokenizes on its side.`,
		Example: `  lakevec embed "hello world" "Hello, World!"
  lakevec embed --json --tokens "Straße café"
  lakevec embed --model-dir ~/models/all-MiniLM-L6-v2 --tokens "what the model sees"
  OPENAI_API_KEY=... lakevec embed --embedder openai --openai-model text-embedding-3-small "a query"
  lakevec embed --openai-url http://localhost:11434/v1 --openai-model nomic-embed-text --json < lines.txt`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEmbed(cmd.Context(), cmd, fl, args, stdout, stderr)
		},
	}
	f := cmd.Flags()
	addEmbedderFlags(f, &fl)
	f.BoolVar(&fl.json, "json", false, "print one JSON object per text")
	f.BoolVar(&fl.tokens, "tokens", false, "print what the model reads: token ids (bert) or words (lexical)")
	return cmd
}

// addEmbedderFlags registers the flags that choose an embedder; every
// command that embeds text takes them.
func addEmbedderFlags(f *pflag.FlagSet, fl *embedFlags) {
	f.StringVar(&fl.kind, "embedder", "", "lexical, bert or openai (default lexical, with a notice that it matches words, not meaning)")
	f.StringVar(&fl.modelDir, "model-dir", "", "bert: directory of the model (config.json, vocab.txt, weights)")
	f.StringVar(&fl.openaiURL, "openai-url", "", "openai: base URL of the service, up to /v1 (default "+embed.DefaultOpenAIBaseURL+")")
	f.StringVar(&fl.openaiModel, "openai-model", "", "openai: model name, e.g. text-embedding-3-small or nomic-embed-text")
}

// embedConfig turns the flags into an embedder config. notice is true when
// no embedder was chosen, so the lexical default must say what it is.
func embedConfig(cmd *cobra.Command, fl embedFlags) (cfg embed.Config, notice bool, err error) {
	changed := cmd.Flags().Changed
	kind := strings.ToLower(strings.TrimSpace(fl.kind))
	switch {
	case changed("embedder"):
	case changed("model-dir"):
		kind = embed.KindBERT
	case changed("openai-url") || changed("openai-model"):
		kind = embed.KindOpenAI
	default:
		kind, notice = embed.KindLexical, true
	}
	var problems []string
	switch kind {
	case embed.KindLexical, embed.KindBERT, embed.KindOpenAI:
	default:
		return cfg, false, usagef("--embedder %q: want lexical, bert or openai", fl.kind)
	}
	if changed("model-dir") && kind != embed.KindBERT {
		problems = append(problems, fmt.Sprintf("--model-dir is for --embedder bert, not %s", kind))
	}
	for _, name := range []string{"openai-url", "openai-model"} {
		if changed(name) && kind != embed.KindOpenAI {
			problems = append(problems, fmt.Sprintf("--%s is for --embedder openai, not %s", name, kind))
		}
	}
	if kind == embed.KindOpenAI {
		if fl.openaiModel == "" {
			problems = append(problems, "--embedder openai needs --openai-model (e.g. text-embedding-3-small, or nomic-embed-text on Ollama)")
		}
		if fl.tokens {
			problems = append(problems, "--tokens: the openai embedder cannot show tokens, the service tokenizes on its side")
		}
	}
	if len(problems) > 0 {
		return cfg, false, usagef("%s", strings.Join(problems, "; "))
	}
	cfg = embed.Config{Kind: kind, ModelDir: fl.modelDir}
	if kind == embed.KindOpenAI {
		cfg.OpenAI = embed.DefaultOpenAIConfig()
		if fl.openaiURL != "" {
			cfg.OpenAI.BaseURL = fl.openaiURL
		}
		cfg.OpenAI.Model = fl.openaiModel
	}
	if err := cfg.Validate(); err != nil {
		return cfg, false, usageError{err}
	}
	return cfg, notice, nil
}

// embedText is one text and where it came from, for messages.
type embedText struct {
	text   string
	source string // "TEXT 2" or "stdin line 7"
	arg    bool   // a command-line argument: bad ones are usage errors
}

func runEmbed(ctx context.Context, cmd *cobra.Command, fl embedFlags, args []string, stdout, stderr io.Writer) error {
	cfg, notice, err := embedConfig(cmd, fl)
	if err != nil {
		return err
	}
	var in io.Reader
	if len(args) == 0 {
		in = cmd.InOrStdin()
		if isTerminal(in) {
			return usagef("no TEXT: give texts as arguments or pipe them on stdin, one per line")
		}
	}
	e, err := embed.Open(ctx, cfg)
	if err != nil {
		return err
	}
	if c, ok := e.(interface{ Close() }); ok {
		defer c.Close()
	}
	if notice {
		fmt.Fprintln(stderr, lexicalNotice)
	}
	p := &embedPrinter{e: e, fl: fl, out: bufio.NewWriter(stdout), stderr: stderr}
	if in == nil {
		texts := make([]embedText, len(args))
		for i, a := range args {
			texts[i] = embedText{a, "TEXT " + strconv.Itoa(i+1), true}
		}
		for len(texts) > 0 {
			n := min(len(texts), embedBatch)
			if err := p.print(ctx, texts[:n]); err != nil {
				return err
			}
			texts = texts[n:]
		}
		return nil
	}
	return p.stream(ctx, in)
}

// stream embeds and prints the non-blank lines of in, a batch at a time.
func (p *embedPrinter) stream(ctx context.Context, in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), maxStdinLine)
	var batch []embedText
	line, texts := 0, 0
	for sc.Scan() {
		line++
		t := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(t) == "" {
			continue
		}
		texts++
		batch = append(batch, embedText{t, "stdin line " + strconv.Itoa(line), false})
		if len(batch) == embedBatch {
			if err := p.print(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("stdin line %d is longer than %d MiB", line+1, maxStdinLine>>20)
		}
		return fmt.Errorf("read stdin: %w", err)
	}
	if texts == 0 {
		return usagef("no TEXT: stdin has no non-blank line")
	}
	return p.print(ctx, batch)
}

// isTerminal reports whether r is an interactive terminal (a character
// device), where waiting for lines would only confuse the user.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// embedPrinter prints the results of one embedder.
type embedPrinter struct {
	e      embed.Embedder
	fl     embedFlags
	out    *bufio.Writer
	stderr io.Writer
}

// embedJSON is one line of --json output.
type embedJSON struct {
	Text      string    `json:"text"`
	Model     string    `json:"model"`
	Dim       int       `json:"dim"`
	Embedding []float32 `json:"embedding"`
	Tokens    []int     `json:"tokens,omitempty"`
	Words     []string  `json:"words,omitempty"`
}

// print embeds one batch (unless only tokens are asked) and prints a line
// per text.
func (p *embedPrinter) print(ctx context.Context, batch []embedText) error {
	var vecs [][]float32
	if !p.fl.tokens || p.fl.json {
		texts := make([]string, len(batch))
		for i, t := range batch {
			texts[i] = t.text
		}
		var err error
		if vecs, err = p.e.Embed(ctx, texts); err != nil {
			var ee *embed.EmptyTextError
			if errors.As(err, &ee) && ee.Index >= 0 && ee.Index < len(batch) {
				src := batch[ee.Index]
				if src.arg {
					return usagef("%s has nothing to embed: %s", src.source, ee.Why)
				}
				return fmt.Errorf("%s has nothing to embed: %s", src.source, ee.Why)
			}
			return err
		}
	}
	enc := json.NewEncoder(p.out)
	enc.SetEscapeHTML(false)
	for i, t := range batch {
		tokens, words := p.tokens(t)
		switch {
		case p.fl.json:
			line := embedJSON{Text: t.text, Model: p.e.ModelID(), Dim: p.e.Dim(), Embedding: vecs[i], Tokens: tokens, Words: words}
			if err := enc.Encode(line); err != nil {
				return err
			}
		case p.fl.tokens && words != nil:
			fmt.Fprintln(p.out, strings.Join(words, " "))
		case p.fl.tokens:
			fmt.Fprintln(p.out, joinInts(tokens))
		default:
			fmt.Fprintf(p.out, "%s dim=%d %s %q\n", p.e.ModelID(), p.e.Dim(), head(vecs[i], 8), t.text)
		}
	}
	return p.out.Flush()
}

// tokens returns what the model reads of t when --tokens is given: token
// ids for a Tokenizer, words for the lexical embedder.
func (p *embedPrinter) tokens(t embedText) (ids []int, words []string) {
	if !p.fl.tokens {
		return nil, nil
	}
	switch e := p.e.(type) {
	case *embed.Lexical:
		return nil, e.Words(t.text) // never nil
	case embed.Tokenizer:
		ids = e.Tokens(t.text)
		if m, ok := p.e.(interface{ MaxSeqLength() int }); ok && len(ids) >= m.MaxSeqLength() {
			fmt.Fprintf(p.stderr, "%s: %d tokens, the model's maximum; the rest of the text is cut off\n", t.source, len(ids))
		}
		return ids, nil
	}
	return nil, nil
}

// head formats the first n values of v, with "…" when there are more. A
// sparse vector (most components zero, like the lexical embedder's) shows
// its first n non-zero values as {index:value ...} and how many there are.
func head(v []float32, n int) string {
	nonzero := 0
	for _, x := range v {
		if x != 0 {
			nonzero++
		}
	}
	var b strings.Builder
	if 2*nonzero < len(v) {
		b.WriteByte('{')
		k := 0
		for i, x := range v {
			if x == 0 {
				continue
			}
			if k == n {
				b.WriteString(" …")
				break
			}
			if k > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.Itoa(i) + ":" + strconv.FormatFloat(float64(x), 'f', 4, 32))
			k++
		}
		fmt.Fprintf(&b, "} (%d of %d non-zero)", nonzero, len(v))
		return b.String()
	}
	b.WriteByte('[')
	for i, x := range v[:min(n, len(v))] {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'f', 4, 32))
	}
	if len(v) > n {
		b.WriteString(" …")
	}
	b.WriteByte(']')
	return b.String()
}

func joinInts(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, " ")
}
