// Package suite reads test suites (YAML files listing faultline tests with their expected
// verdicts), runs them one after another through a function the caller gives, and reports the
// outcome as a summary and as JUnit XML for CI systems.
//
// A suite file:
//
//	name: ci                      # optional; default: the file name
//	defaults:                     # optional: flags every test starts from
//	  flags: {nodes: 3, time: 5s}
//	tests:
//	  - name: lww-w1r1-partition
//	    args: [--w, "1", --r, "1", --nemesis, partition]   # the `faultline run` flags as a list
//	    expect: invalid                                     # a known-broken configuration
//	  - name: abd-w2r2-partition
//	    flags: {consistency: abd, w: 2, r: 2}               # ... or as a map (a list value is joined with commas)
//	    expect: valid
//
// Flags are `faultline run` flags; later ones win, so a test's flags override the defaults.
package suite

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/faultline/faultline/checker"
)

// ErrBadSuite marks a suite file that cannot be used (unreadable, bad YAML, bad fields).
var ErrBadSuite = errors.New("suite: bad suite file")

// Suite is a parsed suite file.
type Suite struct {
	Name  string
	File  string   // the file it was read from ("" when parsed from bytes)
	Args  []string // the defaults' flags
	Tests []Test
}

// Test is one test of a suite.
type Test struct {
	Name   string
	Args   []string        // `faultline run` flags, after the suite's defaults
	Expect checker.Verdict // Valid or Invalid
	Line   int             // where the test starts in the file
}

// Load reads and parses a suite file.
func Load(path string) (*Suite, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSuite, err)
	}
	s, err := Parse(b, path)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Parse parses a suite from YAML; file names it in errors and gives the default name.
func Parse(data []byte, file string) (*Suite, error) {
	p := &parser{file: file}
	s := &Suite{File: file}
	if file != "" {
		s.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, p.wrap(fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: ")))
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, p.errAt(&doc, "want a mapping with a tests list")
	}
	root := doc.Content[0]
	var tests *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "name":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				return nil, p.errAt(v, "name: want a string")
			}
			s.Name = v.Value
		case "defaults":
			if v.Kind != yaml.MappingNode {
				return nil, p.errAt(v, "defaults: want a mapping with args or flags")
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				dk, dv := v.Content[j], v.Content[j+1]
				args, err := p.flags(dk, dv)
				if err != nil {
					return nil, err
				}
				s.Args = append(s.Args, args...)
			}
		case "tests":
			tests = v
		default:
			return nil, p.errAt(k, "unknown field %q (want name, defaults, tests)", k.Value)
		}
	}
	if tests == nil {
		return nil, p.errAt(root, "no tests list")
	}
	if tests.Kind != yaml.SequenceNode || len(tests.Content) == 0 {
		return nil, p.errAt(tests, "tests: want a non-empty list")
	}
	seen := map[string]int{}
	for _, tn := range tests.Content {
		t, err := p.test(tn)
		if err != nil {
			return nil, err
		}
		if prev, ok := seen[t.Name]; ok {
			return nil, p.errAt(tn, "test %q: name already used on line %d", t.Name, prev)
		}
		seen[t.Name] = t.Line
		s.Tests = append(s.Tests, t)
	}
	return s, nil
}

type parser struct{ file string }

func (p *parser) wrap(err error) error {
	where := p.file
	if where == "" {
		where = "suite"
	}
	return fmt.Errorf("%w: %s: %w", ErrBadSuite, where, err)
}

func (p *parser) errAt(n *yaml.Node, format string, args ...any) error {
	return p.wrap(fmt.Errorf("line %d: %s", n.Line, fmt.Sprintf(format, args...)))
}

func (p *parser) test(n *yaml.Node) (Test, error) {
	t := Test{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return t, p.errAt(n, "a test: want a mapping with name, args or flags, expect")
	}
	hasExpect := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "name":
			if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
				return t, p.errAt(v, "name: want a non-empty string")
			}
			t.Name = v.Value
		case "expect":
			hasExpect = true
			switch strings.ToLower(v.Value) {
			case "valid":
				t.Expect = checker.Valid
			case "invalid":
				t.Expect = checker.Invalid
			default:
				return t, p.errAt(v, "expect %q: want valid or invalid", v.Value)
			}
		case "args", "flags":
			args, err := p.flags(k, v)
			if err != nil {
				return t, err
			}
			t.Args = append(t.Args, args...)
		default:
			return t, p.errAt(k, "unknown field %q in a test (want name, args, flags, expect)", k.Value)
		}
	}
	if t.Name == "" {
		return t, p.errAt(n, "a test without a name")
	}
	if !hasExpect {
		return t, p.errAt(n, "test %q: no expect (want valid or invalid)", t.Name)
	}
	return t, nil
}

// flags turns an args list or a flags map into command-line arguments.
func (p *parser) flags(k, v *yaml.Node) ([]string, error) {
	switch k.Value {
	case "args":
		if v.Kind != yaml.SequenceNode {
			return nil, p.errAt(v, "args: want a list of strings, e.g. [--w, \"1\"]")
		}
		var out []string
		for _, a := range v.Content {
			if a.Kind != yaml.ScalarNode {
				return nil, p.errAt(a, "args: want strings, not a %s", kindName(a))
			}
			out = append(out, a.Value)
		}
		return out, nil
	case "flags":
		if v.Kind != yaml.MappingNode {
			return nil, p.errAt(v, "flags: want a mapping of flag names to values, e.g. {w: 1}")
		}
		var out []string
		for i := 0; i+1 < len(v.Content); i += 2 {
			name, val := v.Content[i], v.Content[i+1]
			n := strings.TrimLeft(name.Value, "-")
			if n == "" {
				return nil, p.errAt(name, "flags: empty flag name")
			}
			switch val.Kind {
			case yaml.ScalarNode:
				out = append(out, "--"+n+"="+val.Value)
			case yaml.SequenceNode:
				var items []string
				for _, it := range val.Content {
					if it.Kind != yaml.ScalarNode {
						return nil, p.errAt(it, "flag %s: want a value or a list of values", n)
					}
					items = append(items, it.Value)
				}
				out = append(out, "--"+n+"="+strings.Join(items, ","))
			default:
				return nil, p.errAt(val, "flag %s: want a value or a list of values, not a %s", n, kindName(val))
			}
		}
		return out, nil
	}
	return nil, p.errAt(k, "unknown field %q (want args or flags)", k.Value)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// Names returns the tests' names, in order.
func (s *Suite) Names() []string {
	out := make([]string, len(s.Tests))
	for i, t := range s.Tests {
		out[i] = t.Name
	}
	return out
}

// Select keeps the tests whose names are listed; it reports names that match no test.
func (s *Suite) Select(names []string) error {
	var kept []Test
	for _, n := range names {
		i := slices.IndexFunc(s.Tests, func(t Test) bool { return t.Name == n })
		if i < 0 {
			return fmt.Errorf("suite: no test %q (have %s)", n, strings.Join(s.Names(), ", "))
		}
		kept = append(kept, s.Tests[i])
	}
	s.Tests = kept
	return nil
}
