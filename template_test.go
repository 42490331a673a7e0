package ordersync

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ordersync/ordersync/internal/testkit"
)

// samSchemaPath is the SAM schema in the reference folder beside the repository.
const samSchemaPath = "../shared/reference/sam.schema.json"

// TestShortTags: the template's reader, JSON round trip included, reads every short-form
// tag of cfnyaml's sample as its long form, exactly as cfnyaml's golden file (which
// cfnyaml's own test writes) has it.
func TestShortTags(t *testing.T) {
	got, err := parseCloudFormationYAML(readFile(t, "internal/cfnyaml/testdata/short-tags.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := jsonschema.UnmarshalJSON(bytes.NewReader(readFile(t, "internal/cfnyaml/testdata/short-tags.json")))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("short tags read as\n%v\nwant, as internal/cfnyaml/testdata/short-tags.json has them,\n%v", got, want)
	}
}

// samSchema compiles the SAM schema once per test binary: it is large.
var samSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	f, err := os.Open(samSchemaPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", samSchemaPath, err)
	}
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(lookaheadRegexp)
	if err := c.AddResource("sam.schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("sam.schema.json")
})

// lookaheadRegexp compiles schema patterns with Go's regexp, plus the one form the SAM
// schema needs beyond it: a leading negative lookahead, ^(?!P)R.
func lookaheadRegexp(s string) (jsonschema.Regexp, error) {
	if rest, ok := strings.CutPrefix(s, "^(?!"); ok {
		if i := strings.Index(rest, ")"); i > 0 {
			not, err := regexp.Compile("^(?:" + rest[:i] + ")")
			if err != nil {
				return nil, err
			}
			re, err := regexp.Compile("^" + rest[i+1:])
			if err != nil {
				return nil, err
			}
			return negLookahead{s, not, re}, nil
		}
	}
	return regexp.Compile(s)
}

type negLookahead struct {
	src     string
	not, re *regexp.Regexp
}

func (r negLookahead) String() string            { return r.src }
func (r negLookahead) MatchString(s string) bool { return !r.not.MatchString(s) && r.re.MatchString(s) }

func TestLookaheadRegexp(t *testing.T) {
	re, err := lookaheadRegexp("^(?!AWS::Serverless::).+$")
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{"AWS::Logs::LogGroup": true, "AWS::Serverless::Function": false, "": false} {
		if got := re.MatchString(s); got != want {
			t.Errorf("MatchString(%q) = %v, want %v", s, got, want)
		}
	}
}

// needSAMSchema skips a test when the SAM schema is not beside the repository, except in
// CI, which has the reference folder: there its absence fails the test.
func needSAMSchema(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(samSchemaPath); err != nil {
		testkit.Missing(t, "SAM schema not found beside the repository: %v", err)
	}
}

func TestTemplateMatchesSAMSchema(t *testing.T) {
	needSAMSchema(t)
	sch, err := samSchema()
	if err != nil {
		t.Fatalf("compile SAM schema: %v", err)
	}
	if err := sch.Validate(loadTemplate(t)); err != nil {
		t.Fatalf("template.yaml does not match the SAM schema:\n%v", err)
	}
}

// TestSAMSchemaRejects makes sure the validation above can fail: a function with an
// unknown property and an MSK event without its stream are not accepted.
func TestSAMSchemaRejects(t *testing.T) {
	if _, err := os.Stat(samSchemaPath); err != nil {
		testkit.Missing(t, "SAM schema not found beside the repository: %v", err)
	}
	sch, err := samSchema()
	if err != nil {
		t.Fatalf("compile SAM schema: %v", err)
	}
	for name, src := range map[string]string{
		"unknown function property": `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties: {Handler: bootstrap, CodeUri: ., Hanlder: x}`,
		"unknown event type": `
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Events: {E: {Type: Kafka, Properties: {Topics: [a]}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			v, err := parseCloudFormationYAML([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(v); err == nil {
				t.Error("accepted, want a schema error")
			}
		})
	}
}

// functions returns the logical ids of the template's AWS::Serverless::Function resources.
func functions(t *testing.T, tpl map[string]any) []string {
	t.Helper()
	var ids []string
	for id, r := range section(t, tpl, "Resources") {
		if r.(map[string]any)["Type"] == "AWS::Serverless::Function" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		t.Fatal("template.yaml has no AWS::Serverless::Function")
	}
	return ids
}

// makeTargets returns the targets the Makefile defines.
func makeTargets(t *testing.T) map[string]bool {
	t.Helper()
	data := readFile(t, "Makefile")
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([A-Za-z0-9_.-]+)\s*:([^=]|$)`).FindAllStringSubmatch(string(data), -1) {
		targets[m[1]] = true
	}
	return targets
}

func TestTemplateFunctions(t *testing.T) {
	tpl := loadTemplate(t)
	globals := section(t, section(t, tpl, "Globals"), "Function")
	targets := makeTargets(t)
	for _, id := range functions(t, tpl) {
		t.Run(id, func(t *testing.T) {
			r := section(t, tpl, "Resources")[id].(map[string]any)
			props, _ := r["Properties"].(map[string]any)
			prop := func(name string) any {
				if v, ok := props[name]; ok {
					return v
				}
				return globals[name]
			}
			if got := prop("Handler"); got != "bootstrap" {
				t.Errorf("Handler = %v, want bootstrap", got)
			}
			if got := prop("Runtime"); got != "provided.al2023" {
				t.Errorf("Runtime = %v, want provided.al2023", got)
			}
			if got, _ := json.Marshal(prop("Architectures")); string(got) != `["arm64"]` {
				t.Errorf("Architectures = %s, want [arm64]", got)
			}
			if got := props["CodeUri"]; got != "." {
				t.Errorf("CodeUri = %v, want . (the functions share go.mod and shared/)", got)
			}
			meta, _ := r["Metadata"].(map[string]any)
			if got := meta["BuildMethod"]; got != "makefile" {
				t.Errorf("Metadata.BuildMethod = %v, want makefile", got)
			}
			if !targets["build-"+id] {
				t.Errorf("Makefile has no build-%s target for SAM's makefile builder", id)
			}
		})
	}
}

func TestTemplateParametersDescribed(t *testing.T) {
	for name, p := range section(t, loadTemplate(t), "Parameters") {
		if d, _ := p.(map[string]any)["Description"].(string); strings.TrimSpace(d) == "" {
			t.Errorf("parameter %s has no Description", name)
		}
	}
	for name, o := range section(t, loadTemplate(t), "Outputs") {
		if d, _ := o.(map[string]any)["Description"].(string); strings.TrimSpace(d) == "" {
			t.Errorf("output %s has no Description", name)
		}
	}
}

// subVar matches a ${Name} or ${Name.Attr} in a Fn::Sub string; ${!Literal} is not a variable.
var subVar = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

// TestTemplateReferences checks that every Ref, Fn::GetAtt, Fn::Sub variable and
// condition name points at a parameter, resource or condition that exists.
func TestTemplateReferences(t *testing.T) {
	for _, p := range referenceProblems(loadTemplate(t)) {
		t.Error(p)
	}
}

func TestReferenceProblems(t *testing.T) {
	tpl, err := parseCloudFormationYAML([]byte(`
Parameters:
  P: {Type: String, Description: p}
Conditions:
  C: !Equals [!Ref P, x]
  D: !Not [!Condition Nope]
Resources:
  R:
    Type: AWS::Logs::LogGroup
    Condition: Missing
    Properties:
      LogGroupName: !Sub "${P}-${Q}-${R.Arn}-${S.Arn}-${AWS::Region}-${!Literal}-${V}"
      A: !Ref Unknown
      B: !GetAtt Gone.Arn
      C: !If [NoSuchCondition, !Ref P, !Ref AWS::NoValue]
      D: !Sub ["${V}-${W}", {V: !Ref P}]
`))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(referenceProblems(tpl.(map[string]any)), "\n")
	for _, want := range []string{
		"unknown condition Nope", "unknown condition Missing", "Sub ${Q}: unknown", "Sub ${S.Arn}: unknown resource",
		"Sub ${V}: unknown", "Ref to unknown Unknown", "GetAtt of unknown resource", "unknown condition NoSuchCondition",
		"Sub ${W}: unknown",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems do not report %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != 9 {
		t.Errorf("%d problems, want 9:\n%s", n, got)
	}
}

// referenceProblems lists every Ref, Fn::GetAtt, Fn::Sub variable and condition name of
// tpl that points at nothing.
func referenceProblems(tpl map[string]any) []string {
	params, _ := tpl["Parameters"].(map[string]any)
	resources, _ := tpl["Resources"].(map[string]any)
	conditions, _ := tpl["Conditions"].(map[string]any)
	isRef := func(name string) bool {
		_, p := params[name]
		_, r := resources[name]
		return p || r || strings.HasPrefix(name, "AWS::")
	}
	var problems []string
	bad := func(where, format string, args ...any) {
		problems = append(problems, where+": "+fmt.Sprintf(format, args...))
	}
	checkCondition := func(where string, v any) {
		if s, ok := v.(string); !ok || conditions[s] == nil {
			bad(where, "unknown condition %v", v)
		}
	}
	var walk func(where string, v any, local map[string]bool)
	walk = func(where string, v any, local map[string]bool) {
		switch v := v.(type) {
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", where, i), e, local)
			}
		case map[string]any:
			if len(v) == 1 {
				for k, arg := range v {
					switch k {
					case "Ref":
						if s, _ := arg.(string); !isRef(s) {
							bad(where, "Ref to unknown %v", arg)
						}
						return
					case "Fn::GetAtt":
						a, _ := arg.([]any)
						if len(a) != 2 || resources[fmt.Sprint(a[0])] == nil {
							bad(where, "GetAtt of unknown resource %v", arg)
						}
						return
					case "Condition":
						checkCondition(where, arg)
						return
					case "Fn::If":
						if a, _ := arg.([]any); len(a) == 3 {
							checkCondition(where, a[0])
							walk(where+".then", a[1], local)
							walk(where+".else", a[2], local)
						} else {
							bad(where, "Fn::If needs 3 arguments")
						}
						return
					case "Fn::Sub":
						str := arg
						vars := map[string]bool{}
						if a, ok := arg.([]any); ok && len(a) == 2 {
							str = a[0]
							m, _ := a[1].(map[string]any)
							for name, val := range m {
								vars[name] = true
								walk(where+".Sub."+name, val, local)
							}
						}
						s, _ := str.(string)
						for _, m := range subVar.FindAllStringSubmatch(s, -1) {
							name := m[1]
							if vars[name] {
								continue
							}
							if res, _, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
								if resources[res] == nil {
									bad(where, "Sub ${%s}: unknown resource", name)
								}
							} else if !isRef(name) {
								bad(where, "Sub ${%s}: unknown parameter or resource", name)
							}
						}
						return
					}
				}
			}
			for k, e := range v {
				walk(where+"."+k, e, local)
			}
		}
	}
	for _, sec := range []string{"Globals", "Resources", "Outputs", "Conditions", "Rules"} {
		walk(sec, tpl[sec], nil)
	}
	for id, r := range resources {
		if c, ok := r.(map[string]any)["Condition"]; ok {
			checkCondition("Resources."+id+".Condition", c)
		}
	}
	slices.Sort(problems)
	return problems
}

// TestDocsDocumentTemplate checks the SAM section of docs/deploy.md: every template
// parameter in its table, and the deploy and local-invoke commands.
func TestDocsDocumentTemplate(t *testing.T) {
	const page = "docs/deploy.md"
	data := readFile(t, page)
	_, sec, ok := strings.Cut(string(data), "<!-- section:sam -->")
	sec, _, ok2 := strings.Cut(sec, "<!-- /section:sam -->")
	if !ok || !ok2 {
		t.Fatal(page + " has no sam section")
	}
	for name := range section(t, loadTemplate(t), "Parameters") {
		if !strings.Contains(sec, "| `"+name+"` |") {
			t.Errorf("%s: parameter %s is not in the parameter table", page, name)
		}
	}
	for _, cmd := range []string{
		"sam build", "sam deploy --guided", "sam deploy --config-env prod",
		"go run ./cmd/ordersync broker --advertise host.docker.internal:9092",
		"sam local invoke CreateOrderFunction -e events/create-order.json --env-vars env.json",
		"sam local invoke ValidateOrderFunction -e events/validate-order.json --env-vars env.json",
	} {
		if !strings.Contains(sec, cmd) {
			t.Errorf("%s: the sam section does not show %q", page, cmd)
		}
	}
	files, _ := filepath.Glob("events/*.json")
	for _, f := range files {
		if !strings.Contains(sec, "`"+filepath.Base(f)+"`") {
			t.Errorf("%s: %s is not described", page, f)
		}
	}
}
