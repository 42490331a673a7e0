package ordersync_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// maxFuncLines bounds a function outside tests: one a reader can hold in their head.
const maxFuncLines = 80

// longFuncs lists the functions still over the bound, as path:Name; it only shrinks,
// and is empty now.
var longFuncs = []string{}

// TestFunctionLength fails for a function of more than maxFuncLines lines (signature to
// closing brace) in a non-test Go file, unless longFuncs lists it; and for a listed one
// that has become short, so the list cannot go stale.
func TestFunctionLength(t *testing.T) {
	fset := token.NewFileSet()
	var long []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			if n > maxFuncLines {
				name := fn.Name.Name
				if fn.Recv != nil && len(fn.Recv.List) == 1 {
					name = recvName(fn.Recv.List[0].Type) + "." + name
				}
				long = append(long, filepath.ToSlash(path)+":"+name)
				if !slices.Contains(longFuncs, filepath.ToSlash(path)+":"+name) {
					t.Errorf("%s: %s is %d lines, over %d", path, name, n, maxFuncLines)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range longFuncs {
		if !slices.Contains(long, f) {
			t.Errorf("%s is no longer over %d lines: take it off longFuncs", f, maxFuncLines)
		}
	}
}

func recvName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return recvName(e.X)
	case *ast.IndexExpr:
		return recvName(e.X)
	case *ast.Ident:
		return e.Name
	}
	return "?"
}
