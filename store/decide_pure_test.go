package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDecidePure keeps the decision files pure (DESIGN.md, "Store core and shell"): they import
// only what a deterministic core may, start no goroutine, and call no clock or global source
// of randomness.
func TestDecidePure(t *testing.T) {
	allowed := map[string]bool{
		"errors": true, "fmt": true, "math": true, "math/rand/v2": true, "slices": true,
		"sort": true, "strconv": true, "strings": true, "time": true,
	}
	// Functions of time and math/rand/v2 that read the clock, wait, or draw from the global
	// source; types (time.Duration, time.Time, *rand.Rand) and pure helpers are fine.
	banned := map[string]map[string]bool{
		"time": {"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
			"AfterFunc": true, "NewTimer": true, "NewTicker": true, "Tick": true},
		"rand": {"Int": true, "IntN": true, "Int64": true, "Int64N": true, "Int32": true, "Int32N": true,
			"Uint32": true, "Uint64": true, "UintN": true, "Uint64N": true, "Uint32N": true,
			"Float64": true, "Float32": true, "Perm": true, "Shuffle": true, "N": true,
			"NormFloat64": true, "ExpFloat64": true},
	}
	files, err := filepath.Glob("decide_*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		checked++
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !allowed[p] {
				t.Errorf("%s imports %q: not allowed in a pure decision file", f, p)
			}
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: a go statement at %s", f, fset.Position(x.Pos()))
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && banned[id.Name][x.Sel.Name] {
					t.Errorf("%s: %s.%s at %s", f, id.Name, x.Sel.Name, fset.Position(x.Pos()))
				}
			}
			return true
		})
	}
	if checked < 4 {
		t.Fatalf("checked %d decision files, want at least 4 (decide_answer, _write, _read, _ml)", checked)
	}
}
