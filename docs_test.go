package ordersync

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// readmeMaxLines is the README's budget: one screen or two; the rest belongs in docs/.
const readmeMaxLines = 250

// docFiles are the Markdown files whose links are checked: README.md and docs/*.md.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("docs/ has no pages")
	}
	return append([]string{"README.md"}, files...)
}

// TestReadmeIsShort: README.md stays within its line budget.
func TestReadmeIsShort(t *testing.T) {
	data := readFile(t, "README.md")
	if n := strings.Count(string(data), "\n"); n > readmeMaxLines {
		t.Errorf("README.md has %d lines, want at most %d: move reference material to docs/", n, readmeMaxLines)
	}
}

// mdLink finds inline Markdown links and images: [text](target) and ![alt](target).
var mdLink = regexp.MustCompile(`!?\[[^\]]*\]\(([^()\s]+)(?:\s+"[^"]*")?\)`)

// codeSpan is an inline code span.
var codeSpan = regexp.MustCompile("`[^`]*`")

// fencedOrCode removes fenced code blocks and inline code spans, where a [x](y) is text.
func fencedOrCode(doc string) string {
	var b strings.Builder
	fenced := false
	for line := range strings.SplitSeq(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			b.WriteString("\n")
			continue
		}
		if fenced {
			b.WriteString("\n")
			continue
		}
		b.WriteString(codeSpan.ReplaceAllString(line, "``"))
		b.WriteString("\n")
	}
	return b.String()
}

// TestDocLinksResolve: every relative link in README.md and docs/*.md names a file or
// folder of the repository, and a #fragment names a heading of the linked page.
func TestDocLinksResolve(t *testing.T) {
	for _, file := range docFiles(t) {
		data := readFile(t, file)
		for _, m := range mdLink.FindAllStringSubmatch(fencedOrCode(string(data)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue // absolute URLs are not files of the repository
			}
			path, frag, _ := strings.Cut(target, "#")
			if path == "" {
				path = file
			} else {
				path = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
			}
			if rel, err := filepath.Rel(".", path); err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s: link %q leaves the repository", file, target)
				continue
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s: link %q: %s does not exist", file, target, path)
				continue
			}
			if frag != "" && strings.HasSuffix(path, ".md") && !slices.Contains(anchors(t, path), frag) {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s", file, target, path, frag)
			}
		}
	}
}

// anchors returns the anchors GitHub gives the headings of a Markdown file: lower case,
// punctuation dropped, spaces turned into hyphens, and -1, -2… appended to repeats.
func anchors(t *testing.T, path string) []string {
	t.Helper()
	data := readFile(t, path)
	var out []string
	seen := map[string]int{}
	fenced := false
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		slug := slugify(strings.TrimLeft(line, "#"))
		if n := seen[slug]; n > 0 {
			out = append(out, slug+"-"+strconv.Itoa(n))
		} else {
			out = append(out, slug)
		}
		seen[slug]++
	}
	return out
}

func slugify(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// TestSlugify pins the anchor rule against headings these docs use.
func TestSlugify(t *testing.T) {
	for heading, want := range map[string]string{
		" Topics and durability":                          "topics-and-durability",
		" Database tables (migrations)":                   "database-tables-migrations",
		" Tests (`go test .`)":                            "tests-go-test-",
		" Run a function locally with `sam local invoke`": "run-a-function-locally-with-sam-local-invoke",
		" get-orders (the read side)":                     "get-orders-the-read-side",
	} {
		if got := slugify(heading); got != want {
			t.Errorf("slugify(%q) = %q, want %q", heading, got, want)
		}
	}
}

// testName finds the test, fuzz and benchmark names a page cites, such as `TestEndToEnd`.
var testName = regexp.MustCompile("`((?:Test|Fuzz|Benchmark)[A-Z][A-Za-z0-9_]*)`")

// TestGuaranteesNameRealTests: every test the docs name as proof exists in a _test.go file,
// so a renamed or dropped test cannot leave a promise without its proof.
func TestGuaranteesNameRealTests(t *testing.T) {
	defined := map[string]bool{}
	walkGo(t, func(path string) {
		if !strings.HasSuffix(path, "_test.go") {
			return
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil {
				defined[fn.Name.Name] = true
			}
		}
	})
	for _, file := range docFiles(t) {
		data := readFile(t, file)
		for _, m := range testName.FindAllStringSubmatch(string(data), -1) {
			if !defined[m[1]] {
				t.Errorf("%s names %s, which no _test.go file defines", file, m[1])
			}
		}
	}
}

// mdCited finds Markdown file names in Go comments, such as docs/record-format.md.
var mdCited = regexp.MustCompile(`[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b`)

// TestCommentsCiteExistingDocs: a Go comment that names a .md file names one that the
// repository has (relative to the repository root or to the Go file).
func TestCommentsCiteExistingDocs(t *testing.T) {
	walkGo(t, func(path string) {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range f.Comments {
			for _, name := range mdCited.FindAllString(g.Text(), -1) {
				if exists(name) || exists(filepath.Join(filepath.Dir(path), name)) {
					continue
				}
				t.Errorf("%s: a comment cites %s, which is not in the repository", fset.Position(g.Pos()), name)
			}
		}
	})
}

func exists(path string) bool {
	rel, err := filepath.Rel(".", filepath.Clean(path))
	if err != nil || strings.HasPrefix(rel, "..") {
		return false
	}
	_, err = os.Stat(rel)
	return err == nil
}

// walkGo calls fn for every .go file of the repository outside testdata, hidden and
// local build folders.
func walkGo(t *testing.T, fn func(path string)) {
	t.Helper()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") {
			fn(path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
