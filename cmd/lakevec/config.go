package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	yaml "go.yaml.in/yaml/v3"
)

// Every flag of every command can also come from the environment and from
// a config file. Precedence: flag > env > config file > default.
//
//	environment  LAKEVEC_<FLAG>, upper case, dashes -> underscores
//	             (LAKEVEC_DATA, LAKEVEC_MODEL_DIR, LAKEVEC_EF)
//	config file  --config FILE, else $LAKEVEC_CONFIG, else lakevec.yaml in
//	             the working directory when it exists. YAML: top-level keys
//	             are flag names and apply to every command that has the
//	             flag; a key naming a command holds a section of flags for
//	             that command only (nested for subcommands: bench: {ann:
//	             {...}}), and the most specific section wins.
//
// A key in the file that is neither a flag nor a command is an error, and
// so is a value the flag refuses; both name the key and where it came from.
// installConfig applies this once to the whole tree: nothing is per flag.

const (
	envPrefix         = "LAKEVEC_"
	envConfig         = "LAKEVEC_CONFIG"
	defaultConfigFile = "lakevec.yaml"
	// sourceAnnotation records on a flag where a value that did not come
	// from the command line came from ("env LAKEVEC_DATA", "lakevec.yaml:3").
	sourceAnnotation = "lakevec/source"
)

// noEnvFlags never come from the environment or a config file: --config
// names the file itself; --yes confirms a destructive command, which a
// stray LAKEVEC_YES must not do for the user; --sync makes an ingest delete
// every document it does not list, which a stray `sync: true` must not.
var noEnvFlags = map[string]bool{"help": true, "config": true, "yes": true, "sync": true}

// envName is the environment variable of a flag.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// installConfig adds --config and --quiet to the root, names each flag's
// environment variable in its help, and reads env and config file before
// any command runs.
func installConfig(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.String("config", "", "config file (YAML; default $"+envConfig+", else ./"+defaultConfigFile+" if present)")
	pf.BoolP("quiet", "q", false, "no progress bars")
	visitCommands(root, func(c *cobra.Command) {
		annotate := func(f *pflag.Flag) {
			if noEnvFlags[f.Name] || strings.Contains(f.Usage, "env "+envPrefix) {
				return
			}
			f.Usage += " (env " + envName(f.Name) + ")"
		}
		c.LocalNonPersistentFlags().VisitAll(annotate)
		c.PersistentFlags().VisitAll(annotate)
	})
	prev := root.PersistentPreRunE
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if err := applyEnvAndConfig(root, cmd); err != nil {
			return err
		}
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
}

func visitCommands(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, s := range c.Commands() {
		visitCommands(s, fn)
	}
}

// configValue is one flag setting from the config file.
type configValue struct {
	node  *yaml.Node // scalar or sequence of scalars
	where string     // file:line
}

// applyEnvAndConfig sets every flag of cmd the command line left unset,
// from its environment variable, else from the config file.
func applyEnvAndConfig(root, cmd *cobra.Command) error {
	file, explicit, err := configPath(cmd)
	if err != nil {
		return err
	}
	var values map[string]configValue
	if file != "" {
		if values, err = loadConfig(root, cmd, file, explicit); err != nil {
			return usageError{err}
		}
	}
	flags := cmd.Flags() // local and inherited
	var errs []error
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Changed || noEnvFlags[f.Name] || fileSiblingGiven(flags, f, values) {
			return
		}
		env := envName(f.Name)
		if v, ok := os.LookupEnv(env); ok {
			if err := flags.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q (environment): --%s: %v", env, v, f.Name, err))
			}
			setSource(f, "env "+env)
			return
		}
		cv, ok := values[f.Name]
		if !ok {
			return
		}
		if err := setFromNode(flags, f, cv.node); err != nil {
			errs = append(errs, fmt.Errorf("config file %s: %s: %v", cv.where, f.Name, err))
		}
		setSource(f, cv.where)
	})
	if err := errors.Join(errs...); err != nil {
		return usageError{err}
	}
	return nil
}

// fileSiblingGiven keeps a key read from a file (--api-key-file) ahead of
// the same key from the environment or config file (--api-key): giving
// both on the command line is an error, so the weaker source yields.
func fileSiblingGiven(flags *pflag.FlagSet, f *pflag.Flag, values map[string]configValue) bool {
	sib := flags.Lookup(f.Name + "-file")
	if sib == nil {
		return false
	}
	if sib.Changed {
		return true
	}
	if _, ok := os.LookupEnv(envName(sib.Name)); ok {
		return true
	}
	_, ok := values[sib.Name]
	return ok
}

func setSource(f *pflag.Flag, src string) {
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[sourceAnnotation] = []string{src}
}

// onCommandLine reports whether flag name was given on the command line
// (not from the environment or a config file).
func onCommandLine(cmd *cobra.Command, name string) bool {
	f := cmd.Flags().Lookup(name)
	return f != nil && f.Changed && len(f.Annotations[sourceAnnotation]) == 0
}

// configPath picks the config file: --config, else $LAKEVEC_CONFIG, else
// ./lakevec.yaml if it exists. explicit is false for the last, whose
// absence is no error.
func configPath(cmd *cobra.Command) (path string, explicit bool, err error) {
	if f := cmd.Flags().Lookup("config"); f != nil && f.Changed {
		return f.Value.String(), true, nil
	}
	if p := os.Getenv(envConfig); p != "" {
		return p, true, nil
	}
	if _, err := os.Stat(defaultConfigFile); err == nil {
		return defaultConfigFile, false, nil
	}
	return "", false, nil
}

// loadConfig reads file, checks every key in it against the whole command
// tree, and returns the settings that apply to cmd: top-level keys, then
// each section on the path from the root to cmd, the innermost last.
func loadConfig(root, cmd *cobra.Command, file string, explicit bool) (map[string]configValue, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("config file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("config file %s: %v", file, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil // empty file
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config file %s:%d: want a mapping of flag names to values", file, top.Line)
	}
	if err := checkSection(root, top, file, ""); err != nil {
		return nil, err
	}
	// The sections on cmd's path, outermost first.
	var path []*cobra.Command
	for c := cmd; c != nil && c != root; c = c.Parent() {
		path = append([]*cobra.Command{c}, path...)
	}
	out := map[string]configValue{}
	section := top
	for i := 0; section != nil; i++ {
		for j := 0; j+1 < len(section.Content); j += 2 {
			k, v := section.Content[j], section.Content[j+1]
			if v.Kind != yaml.MappingNode {
				out[flagKey(k.Value)] = configValue{v, fmt.Sprintf("%s:%d", file, k.Line)}
			}
		}
		if i >= len(path) {
			break
		}
		section = subsection(section, path[i].Name())
	}
	return out, nil
}

func flagKey(k string) string { return strings.ReplaceAll(k, "_", "-") }

func subsection(m *yaml.Node, name string) *yaml.Node {
	for j := 0; j+1 < len(m.Content); j += 2 {
		if m.Content[j].Value == name && m.Content[j+1].Kind == yaml.MappingNode {
			return m.Content[j+1]
		}
	}
	return nil
}

// checkSection refuses keys of section m (the settings of command c) that
// are neither a flag of c or of a command below it, nor a subcommand.
func checkSection(c *cobra.Command, m *yaml.Node, file, prefix string) error {
	known := map[string]bool{}
	visitCommands(c, func(d *cobra.Command) {
		d.Flags().VisitAll(func(f *pflag.Flag) { known[f.Name] = true })
		d.InheritedFlags().VisitAll(func(f *pflag.Flag) { known[f.Name] = true })
	})
	for j := 0; j+1 < len(m.Content); j += 2 {
		k, v := m.Content[j], m.Content[j+1]
		if v.Kind == yaml.MappingNode {
			sub := findSub(c, k.Value)
			if sub == nil {
				return fmt.Errorf("config file %s:%d: unknown key %q: neither a flag nor a command", file, k.Line, prefix+k.Value)
			}
			if err := checkSection(sub, v, file, prefix+k.Value+"."); err != nil {
				return err
			}
			continue
		}
		name := flagKey(k.Value)
		if !known[name] {
			hint := ""
			if s := suggestFlag(name, known); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			where := "any command"
			if c != c.Root() {
				where = c.CommandPath()
			}
			return fmt.Errorf("config file %s:%d: unknown key %q: not a flag of %s%s", file, k.Line, prefix+k.Value, where, hint)
		}
		if noEnvFlags[name] {
			return fmt.Errorf("config file %s:%d: key %q: --%s can only be given on the command line", file, k.Line, prefix+k.Value, name)
		}
		if v.Kind != yaml.ScalarNode && v.Kind != yaml.SequenceNode {
			return fmt.Errorf("config file %s:%d: %s: want a value or a list", file, v.Line, prefix+k.Value)
		}
	}
	return nil
}

func findSub(c *cobra.Command, name string) *cobra.Command {
	for _, s := range c.Commands() {
		if s.Name() == name || s.HasAlias(name) {
			return s
		}
	}
	return nil
}

// suggestFlag returns the known flag closest to name, if close.
func suggestFlag(name string, known map[string]bool) string {
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	best, bestD := "", 3
	for _, k := range names {
		if d := editDistance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// setFromNode sets a flag from a YAML scalar, or from each item of a
// sequence (for list flags such as --peer).
func setFromNode(flags *pflag.FlagSet, f *pflag.Flag, n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		return flags.Set(f.Name, n.Value)
	}
	if _, ok := f.Value.(pflag.SliceValue); !ok && len(n.Content) != 1 {
		return fmt.Errorf("a list of %d values, but --%s takes one", len(n.Content), f.Name)
	}
	var vals []string
	for _, it := range n.Content {
		if it.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: want a plain value in the list", it.Line)
		}
		vals = append(vals, it.Value)
	}
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		if err := sv.Replace(vals); err != nil {
			return err
		}
		f.Changed = true
		return nil
	}
	return flags.Set(f.Name, vals[0])
}
