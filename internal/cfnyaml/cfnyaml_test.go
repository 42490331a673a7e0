package cfnyaml

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/testkit"
)

// TestShortTags: every short-form tag of testdata/short-tags.yaml reads as its long form
// in testdata/short-tags.json.
func TestShortTags(t *testing.T) {
	src, err := os.ReadFile("testdata/short-tags.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	testkit.GoldenJSON(t, "testdata/short-tags.json", got)
}

// TestRefused has one case per thing CloudFormation would not read as the text says.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      error
		line      string
	}{
		{"duplicate key", "a: 1\nb: 2\na: 3\n", ErrDuplicateKey, "line 3"},
		{"duplicate key nested", "R:\n  Type: X\n  Type: Y\n", ErrDuplicateKey, "line 3"},
		{"alias", "a: &x 1\nb: *x\n", ErrAlias, "line 1"},
		{"alias only", "a: [1]\nb: *x\n", ErrSyntax, ""},
		{"anchor without alias", "a: &x {k: v}\n", ErrAlias, "line 1"},
		{"merge key", "a: {k: v}\nb:\n  <<: {k: w}\n", ErrMergeKey, "line 3"},
		{"unknown short tag", "a: !Reff P\n", ErrUnknownTag, "line 1"},
		{"unknown tag on a mapping", "a: !Custom {k: v}\n", ErrUnknownTag, "line 1"},
		{"binary tag", "a: !!binary aGk=\n", ErrUnknownTag, "line 1"},
		{"GetAtt without attribute", "a: !GetAtt Fn\n", ErrGetAtt, "line 1"},
		{"two documents", "a: 1\n---\nb: 2\n", ErrDocuments, "line 2"},
		{"empty", "# nothing\n", ErrDocuments, ""},
		{"sequence key", "? [a]\n: 1\n", ErrKey, "line 1"},
		{"null key", "~: 1\n", ErrKey, "line 1"},
		{"not YAML", "a: [1\n", ErrSyntax, ""},
		{"tab indentation", "a:\n\tb: 1\n", ErrSyntax, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Parse([]byte(tc.src))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, %v; want %v", v, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.line) {
				t.Errorf("error %q does not say %q", err, tc.line)
			}
		})
	}
}

// FuzzParse: any input gives a value or an error, never a panic or a hang.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"a: !Ref P\n", "a: &x 1\nb: *x\n", "a: !GetAtt [X, Y]\n", "a: !Sub\n  - x\n  - {y: !Ref z}\n",
		"Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: ., Events: {A: {Type: HttpApi}}}\n",
		"a: [1, 2, {b: c}]\n", "- !If [C, 1, 2]\n", "a: 1\n---\n", "? |\n  k\n: v\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		if err == nil {
			if _, jerr := json.Marshal(v); jerr != nil && !strings.Contains(jerr.Error(), "unsupported value") {
				t.Errorf("value of %q does not marshal: %v", data, jerr)
			}
		}
	})
}
