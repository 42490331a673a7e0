package cfnyaml

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestShortTags(t *testing.T) {
	src := `
a: !Ref P
b: !GetAtt Fn.Arn
c: !GetAtt [Fn, Arn]
d: !Sub "x-${P}"
e: !If [C, !Ref AWS::NoValue, !Select [0, !Split [",", !Ref P]]]
f: !Not [!Condition C]
g: !Join ["", [a, b]]
h: !FindInMap [M, K, V]
i: !ImportValue X
j: !Base64 abc
k: !Cidr [!Ref P, 6, 5]
l: !GetAZs ""
m: !And [!Equals [a, b], !Or [!Condition C, !Condition D]]
n: 7
o: !Transform {Name: AWS::Include, Parameters: {Location: s3://b/k}}
p: 2010-09-09
q: 1.5
r: true
s: ~
t: !Sub
  - "${A}-${B}"
  - {A: !Ref X, B: y}
`
	got, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":{"Ref":"P"},"b":{"Fn::GetAtt":["Fn","Arn"]},"c":{"Fn::GetAtt":["Fn","Arn"]},` +
		`"d":{"Fn::Sub":"x-${P}"},"e":{"Fn::If":["C",{"Ref":"AWS::NoValue"},{"Fn::Select":[0,{"Fn::Split":[",",{"Ref":"P"}]}]}]},` +
		`"f":{"Fn::Not":[{"Condition":"C"}]},"g":{"Fn::Join":["",["a","b"]]},"h":{"Fn::FindInMap":["M","K","V"]},` +
		`"i":{"Fn::ImportValue":"X"},"j":{"Fn::Base64":"abc"},"k":{"Fn::Cidr":[{"Ref":"P"},6,5]},"l":{"Fn::GetAZs":""},` +
		`"m":{"Fn::And":[{"Fn::Equals":["a","b"]},{"Fn::Or":[{"Condition":"C"},{"Condition":"D"}]}]},"n":7,` +
		`"o":{"Fn::Transform":{"Name":"AWS::Include","Parameters":{"Location":"s3://b/k"}}},"p":"2010-09-09","q":1.5,"r":true,"s":null,` +
		`"t":{"Fn::Sub":["${A}-${B}",{"A":{"Ref":"X"},"B":"y"}]}}`
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != want {
		t.Errorf("long form:\n got %s\nwant %s", raw, want)
	}
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
