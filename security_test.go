package ordersync

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/cfnyaml"
	"github.com/ordersync/ordersync/internal/testkit"
)

// Security checks of what the repository ships: least-privilege IAM statements in both
// CloudFormation templates, and no secret literal in any tracked file.

// iamTemplates are the CloudFormation templates whose IAM statements are checked.
var iamTemplates = []string{"template.yaml", filepath.Join("connect", "msk-connect.yaml")}

// TestIAMStatementsNameResources: every IAM statement names the resources it allows —
// no Resource "*" anywhere, no NotResource or NotAction, no wildcard action such as
// kafka-cluster:*, and for kafka-cluster actions no ARN whose topic, group or
// transactional-id name is a bare "*" (a wildcard is allowed only after a literal name
// prefix, as MSK Connect's __amazon_msk_connect_* internal topics need).
func TestIAMStatementsNameResources(t *testing.T) {
	for _, path := range iamTemplates {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data := readFile(t, path)
			tpl, err := parseCloudFormationYAML(data)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			stmts := iamStatements(tpl, "")
			if len(stmts) == 0 {
				t.Fatalf("%s: no IAM statements found", path)
			}
			kafka := 0
			for _, s := range stmts {
				for _, p := range statementProblems(s.v) {
					t.Errorf("%s %s: %s", path, s.where, p)
				}
				if slices.ContainsFunc(actions(s.v), func(a string) bool { return strings.HasPrefix(a, "kafka-cluster:") }) {
					kafka++
				}
			}
			if kafka == 0 {
				t.Errorf("%s: no kafka-cluster statement found; the walk missed them", path)
			}
			t.Logf("%s: %d IAM statements checked, %d with kafka-cluster actions", path, len(stmts), kafka)
			for _, p := range managedPolicyProblems(tpl, "") {
				t.Errorf("%s %s", path, p)
			}
		})
	}
}

// TestIAMCheckRejects proves the checker is not vacuous: each broad statement is caught.
func TestIAMCheckRejects(t *testing.T) {
	sub := func(s string) any { return map[string]any{"Fn::Sub": s} }
	tests := []struct {
		name string
		stmt map[string]any
	}{
		{"resource star", map[string]any{"Effect": "Allow", "Action": "kafka-cluster:ReadData", "Resource": "*"}},
		{"resource star in a list", map[string]any{"Effect": "Allow", "Action": []any{"logs:PutLogEvents"}, "Resource": []any{"arn:aws:logs:x", "*"}}},
		{"every topic", map[string]any{"Effect": "Allow", "Action": "kafka-cluster:WriteData",
			"Resource": sub("arn:${AWS::Partition}:kafka:${AWS::Region}:${AWS::AccountId}:topic/${Cluster}/*")}},
		{"every group", map[string]any{"Effect": "Allow", "Action": []any{"kafka-cluster:AlterGroup"},
			"Resource": []any{sub("arn:aws:kafka:eu-west-1:111122223333:group/c/*")}}},
		{"every cluster", map[string]any{"Effect": "Allow", "Action": "kafka-cluster:Connect", "Resource": "arn:aws:kafka:*:*:cluster/*"}},
		{"wildcard action", map[string]any{"Effect": "Allow", "Action": "kafka-cluster:*", "Resource": "arn:aws:kafka:eu-west-1:1:cluster/c/u"}},
		{"star action", map[string]any{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"}},
		{"data action wildcard", map[string]any{"Effect": "Allow", "Action": "kafka-cluster:*Data", "Resource": "arn:aws:kafka:eu-west-1:1:topic/c/t"}},
		{"not resource", map[string]any{"Effect": "Allow", "Action": "kafka-cluster:ReadData", "NotResource": "arn:aws:kafka:eu-west-1:1:topic/c/t"}},
		{"not action", map[string]any{"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"}},
		{"no resource", map[string]any{"Effect": "Allow", "Action": "kafka-cluster:ReadData"}},
		{"sub list with star", map[string]any{"Effect": "Allow", "Action": "kafka-cluster:ReadData",
			"Resource": map[string]any{"Fn::Sub": []any{"${P}:topic/${C}/*", map[string]any{"P": "x"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ps := statementProblems(tt.stmt); len(ps) == 0 {
				t.Errorf("statement %v passed the check", tt.stmt)
			}
		})
	}
	ok := map[string]any{"Effect": "Allow", "Action": []any{"kafka-cluster:ReadData", "kafka-cluster:WriteData"},
		"Resource": sub("arn:aws:kafka:eu-west-1:1:topic/c/__amazon_msk_connect_*")}
	if ps := statementProblems(ok); len(ps) != 0 {
		t.Errorf("a named prefix is refused: %v", ps)
	}
	if ps := managedPolicyProblems(map[string]any{"Policies": []any{"AmazonMSKFullAccess", "AWSLambdaBasicExecutionRole"}}, ""); len(ps) != 1 {
		t.Errorf("managed policy check found %v, want the FullAccess policy only", ps)
	}
}

type located struct {
	where string
	v     map[string]any
}

// iamStatements finds every statement under a "Statement" key, through Fn::If branches.
func iamStatements(v any, where string) []located {
	var out []located
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(mapKeys(v)) {
			if k == "Statement" {
				for i, s := range statementList(v[k]) {
					out = append(out, located{fmt.Sprintf("%s.Statement[%d]", where, i), s})
				}
				continue
			}
			out = append(out, iamStatements(v[k], where+"."+k)...)
		}
	case []any:
		for i, e := range v {
			out = append(out, iamStatements(e, fmt.Sprintf("%s[%d]", where, i))...)
		}
	}
	return out
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// flatten returns leaf(v) for a value that is not a list, and the leaves of every
// element, in order, for a list.
func flatten[T any](v any, leaf func(any) []T) []T {
	l, ok := v.([]any)
	if !ok {
		return leaf(v)
	}
	var out []T
	for _, e := range l {
		out = append(out, flatten(e, leaf)...)
	}
	return out
}

// statementList flattens a Statement value: one statement, a list, or Fn::If branches;
// AWS::NoValue drops out.
func statementList(v any) []map[string]any {
	return flatten(v, func(v any) []map[string]any {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if branches, ok := m["Fn::If"].([]any); ok && len(branches) == 3 {
			return append(statementList(branches[1]), statementList(branches[2])...)
		}
		if ref, ok := m["Ref"]; ok && ref == "AWS::NoValue" {
			return nil
		}
		return []map[string]any{m}
	})
}

// strs returns the strings of a string-or-list value.
func strs(v any) []string {
	return flatten(v, func(v any) []string {
		if s, ok := v.(string); ok {
			return []string{s}
		}
		return nil
	})
}

func actions(s map[string]any) []string { return strs(s["Action"]) }

// resourceTexts returns what each Resource names: a literal ARN, the template string of
// an Fn::Sub (short or list form), or "" for a Ref or another intrinsic (a parameter
// or resource naming one ARN).
func resourceTexts(v any) []string {
	return flatten(v, func(v any) []string {
		switch v := v.(type) {
		case string:
			return []string{v}
		case map[string]any:
			if sub, ok := v["Fn::Sub"]; ok {
				switch sub := sub.(type) {
				case string:
					return []string{sub}
				case []any:
					if len(sub) > 0 {
						if s, ok := sub[0].(string); ok {
							return []string{s}
						}
					}
				}
			}
			if branches, ok := v["Fn::If"].([]any); ok && len(branches) == 3 {
				return append(resourceTexts(branches[1]), resourceTexts(branches[2])...)
			}
		}
		return []string{""}
	})
}

// kafkaARN matches the resource part of an MSK ARN: cluster/NAME/UUID or
// topic|group|transactional-id/CLUSTER/UUID?/NAME.
var kafkaARN = regexp.MustCompile(`:(cluster|topic|group|transactional-id)/(.*)$`)

func statementProblems(s map[string]any) []string {
	var ps []string
	if _, ok := s["Principal"]; ok { // a trust policy: who may assume the role
		if p, _ := s["Principal"].(string); p == "*" {
			ps = append(ps, "Principal is *")
		}
		if m, ok := s["Principal"].(map[string]any); ok && slices.Contains(strs(m["AWS"]), "*") {
			ps = append(ps, "Principal AWS is *")
		}
		return ps
	}
	for _, k := range []string{"NotAction", "NotResource", "NotPrincipal"} {
		if _, ok := s[k]; ok {
			ps = append(ps, k+" grants everything but a list")
		}
	}
	acts := actions(s)
	if len(acts) == 0 && s["NotAction"] == nil {
		ps = append(ps, "no Action")
	}
	kafka := false
	for _, a := range acts {
		svc, name, _ := strings.Cut(a, ":")
		if a == "*" || name == "*" || (svc == "kafka-cluster" && strings.Contains(name, "*")) {
			ps = append(ps, fmt.Sprintf("wildcard action %q", a))
		}
		kafka = kafka || svc == "kafka-cluster"
	}
	res, ok := s["Resource"]
	if !ok {
		if s["NotResource"] == nil {
			ps = append(ps, "no Resource")
		}
		return ps
	}
	for _, r := range resourceTexts(res) {
		if r == "*" {
			ps = append(ps, "Resource *")
			continue
		}
		if !kafka || r == "" {
			continue
		}
		m := kafkaARN.FindStringSubmatch(r)
		if m == nil {
			if strings.Contains(r, "*") {
				ps = append(ps, fmt.Sprintf("kafka-cluster resource %q has a wildcard outside a name", r))
			}
			continue
		}
		segs := strings.Split(m[2], "/")
		for i, seg := range segs {
			last := i == len(segs)-1
			if seg == "*" || (strings.Contains(seg, "*") && (!last || strings.Index(seg, "*") < 4)) {
				ps = append(ps, fmt.Sprintf("kafka-cluster resource %q names no specific %s", r, m[1]))
				break
			}
		}
	}
	if strings.Contains(fmt.Sprint(s["Resource"]), "arn:aws:kafka:*") {
		ps = append(ps, "kafka ARN with a wildcard region or account")
	}
	return ps
}

// managedPolicyProblems refuses broad AWS managed policies named in a Policies list.
func managedPolicyProblems(v any, where string) []string {
	var ps []string
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if k == "Policies" || k == "ManagedPolicyArns" {
				for _, name := range strs(e) {
					if strings.Contains(name, "FullAccess") || strings.Contains(name, "AdministratorAccess") || strings.Contains(name, "PowerUser") {
						ps = append(ps, fmt.Sprintf("%s.%s: broad managed policy %q", where, k, name))
					}
				}
			}
			ps = append(ps, managedPolicyProblems(e, where+"."+k)...)
		}
	case []any:
		for i, e := range v {
			ps = append(ps, managedPolicyProblems(e, fmt.Sprintf("%s[%d]", where, i))...)
		}
	}
	return ps
}

// secretRules find secret literals. Each names what it finds; allowed(match) says when a
// hit is a placeholder or a reference rather than a secret.
var secretRules = []struct {
	name    string
	re      *regexp.Regexp
	files   func(path string) bool // nil: every file
	allowed func(value string) bool
}{
	{name: "AWS access key id", re: regexp.MustCompile(`\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b`)},
	{name: "AWS secret access key", re: regexp.MustCompile(`(?i)aws_?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})`)},
	{name: "private key", re: regexp.MustCompile(`-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----`)},
	{name: "password in a URL", re: regexp.MustCompile(`\b[a-z][a-z0-9+.-]*://[^/\s:@'"` + "`" + `]+:([^@\s/'"` + "`" + `]+)@`),
		allowed: placeholder},
	{name: "password in a JSON or YAML value", re: regexp.MustCompile(`(?im)(?:^|[\s{,\[])["']?[a-z0-9_.-]*(?:password|passwd|secret|api[_-]?key|token)["']?\s*[:=]\s*["']?([^"'\s,}]+)`),
		files: configFile, allowed: reference},
}

// placeholder reports whether a URL password is documentation rather than a secret.
func placeholder(v string) bool {
	return slices.Contains([]string{"pass", "password", "PASSWORD", "secret", "***", "xxx"}, v) || reference(v)
}

// reference reports whether a config value points at a secret store instead of holding
// the secret: ${secretsmanager:...}, {{resolve:...}}, a CloudFormation intrinsic (one of
// the short-form tags of cfnyaml.ShortTags: !Ref, !If, !Not, !And …), an ARN or an empty value.
func reference(v string) bool {
	v = strings.Trim(v, `"'`)
	for tag := range cfnyaml.ShortTags {
		if strings.HasPrefix(v, tag+" ") || v == tag {
			return true
		}
	}
	for _, p := range []string{"${", "{{resolve:", "arn:", "$(", "<"} {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return v == "" || v == "\"\"" || v == "''"
}

// configFile: files where a password key with a literal value is a committed secret.
func configFile(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json", ".yaml", ".yml", ".toml", ".env", ".properties", ".ini", ".cfg", ".conf":
		return true
	}
	return filepath.Base(path) == ".env"
}

// fixtures are reviewed test values that look like credentials but guard nothing:
// path → the values allowed there. A new credential-looking literal fails the test until
// it is reviewed and listed here.
var fixtures = map[string][]string{
	"shared/db/open_test.go": {"s%40cret"}, // a DATABASE_URL parsing case
}

func secretHits(path string, data []byte) []string {
	var hits []string
	for _, r := range secretRules {
		if r.files != nil && !r.files(path) {
			continue
		}
		for _, m := range r.re.FindAllSubmatchIndex(data, -1) {
			value := string(data[m[0]:m[1]])
			if n := len(m); n >= 4 && m[n-2] >= 0 { // the last group is the value
				value = string(data[m[n-2]:m[n-1]])
			}
			if r.allowed != nil && r.allowed(value) || slices.Contains(fixtures[filepath.ToSlash(path)], value) {
				continue
			}
			line := 1 + bytes.Count(data[:m[0]], []byte("\n"))
			hits = append(hits, fmt.Sprintf("%s:%d: %s", path, line, r.name))
		}
	}
	return hits
}

// TestNoSecretsInTrackedFiles scans every file git tracks.
func TestNoSecretsInTrackedFiles(t *testing.T) {
	testkit.Long(t, "runs git ls-files")
	out, err := exec.Command("git", "ls-files", "-z").Output()
	if err != nil {
		testkit.Missing(t, "git ls-files: %v (not a git checkout)", err)
	}
	var files int
	for _, path := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if path == "" {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree
			}
			t.Fatal(err)
		}
		if bytes.IndexByte(data, 0) >= 0 {
			continue // binary
		}
		files++
		for _, h := range secretHits(path, data) {
			t.Error(h)
		}
	}
	if files == 0 {
		t.Fatal("no tracked files scanned")
	}
	t.Logf("%d tracked text files scanned", files)
}

// TestSecretRulesFind proves each rule finds what it is for. The samples are assembled
// at run time so that this file holds no secret-looking literal itself.
func TestSecretRulesFind(t *testing.T) {
	akia := "AKIA" + strings.Repeat("Q", 16)
	secret := strings.Repeat("aB3/", 10)
	pem := "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIE\n"
	tests := []struct {
		path, text string
		hit        bool
	}{
		{"a.go", `id := "` + akia + `"`, true},
		{"a.txt", "aws_secret_access_key = " + secret, true},
		{"k.pem", pem, true},
		{"docs/sink.md", "mysql://admin:" + "hunter2" + "@db:3306/x", true},
		{"x.json", `{"connection.password": "` + "hunter2" + `"}`, true},
		{"x.yaml", "KAFKA_PASSWORD: " + "hunter2", true},
		{"x.toml", `api_key = "` + "abc123" + `"`, true},
		{"docs/sink.md", "mysql://user:pass@host:port/db", false},
		{"x.json", `{"connection.password": "${secretsmanager:ordersync/db:password}"}`, false},
		{"x.yaml", `KAFKA_PASSWORD: !If [UseScram, !Sub "{{resolve:secretsmanager:x}}", !Ref AWS::NoValue]`, false},
		{"x.toml", `"KafkaSecretArn=arn:aws:secretsmanager:eu-west-1:1:secret:x"`, false},
		{"a.go", `cfg.Password = getenv("KAFKA_PASSWORD")`, false},
	}
	for _, tt := range tests {
		if got := len(secretHits(tt.path, []byte(tt.text))) > 0; got != tt.hit {
			t.Errorf("%s %q: hit = %v, want %v", tt.path, tt.text, got, tt.hit)
		}
	}
}
