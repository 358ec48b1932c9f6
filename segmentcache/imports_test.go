package segmentcache

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// allowedImports are the standard-library packages the non-test files may
// import. fmt, encoding/*, log and reflection would bloat the WebAssembly
// build; widening this list is a decision, not a side effect.
var allowedImports = map[string]bool{
	"cmp":            true,
	"container/list": true,
	"errors":         true,
	"io":             true,
	"slices":         true,
	"strconv":        true,
	"sync":           true,
}

func TestImportsAllowlist(t *testing.T) {
	names, err := os.ReadDir(".")
	if err != nil {
		t.Fatalf("cannot list the package directory: %v", err)
	}
	fset := token.NewFileSet()
	for _, de := range names {
		name := de.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowedImports[path] {
				t.Errorf("%s imports %q, which is not in the allowlist", name, path)
			}
		}
	}
}
