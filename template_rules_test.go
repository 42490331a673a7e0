package ordersync

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/local/samtemplate"
)

// cfnEval evaluates what CloudFormation evaluates from parameters alone: conditions,
// rules and Fn::If, for one set of parameter values.
type cfnEval struct {
	params map[string]string // every parameter: its default, or the value given
	conds  map[string]any
}

// newEval resolves the template's parameters with overrides on top of their defaults.
func newEval(t *testing.T, tpl map[string]any, overrides map[string]string) cfnEval {
	t.Helper()
	e := cfnEval{params: map[string]string{}, conds: section(t, tpl, "Conditions")}
	for name, p := range section(t, tpl, "Parameters") {
		if d, ok := p.(map[string]any)["Default"]; ok {
			e.params[name] = fmt.Sprint(d)
		}
	}
	for k, v := range overrides {
		if _, ok := section(t, tpl, "Parameters")[k]; !ok {
			t.Fatalf("no parameter %s in template.yaml", k)
		}
		e.params[k] = v
	}
	return e
}

// cond evaluates a condition or rule function, as the local stack's template reader
// does (samtemplate.Condition).
func (e cfnEval) cond(v any) (bool, error) {
	return samtemplate.Condition(e.params, e.conds, v)
}

// resolve replaces every Fn::If by its chosen branch and drops AWS::NoValue; ok is false
// when v itself is AWS::NoValue.
func (e cfnEval) resolve(v any) (any, bool, error) {
	switch v := v.(type) {
	case []any:
		out := []any{}
		for _, x := range v {
			r, ok, err := e.resolve(x)
			if err != nil {
				return nil, false, err
			}
			if ok {
				out = append(out, r)
			}
		}
		return out, true, nil
	case map[string]any:
		if ref, _ := v["Ref"].(string); ref == "AWS::NoValue" {
			return nil, false, nil
		}
		if args, ok := v["Fn::If"].([]any); ok && len(v) == 1 {
			if len(args) != 3 {
				return nil, false, fmt.Errorf("Fn::If needs 3 arguments: %v", args)
			}
			b, err := e.cond(map[string]any{"Condition": args[0]})
			if err != nil {
				return nil, false, err
			}
			if b {
				return e.resolve(args[1])
			}
			return e.resolve(args[2])
		}
		out := map[string]any{}
		for k, x := range v {
			r, ok, err := e.resolve(x)
			if err != nil {
				return nil, false, err
			}
			if ok {
				out[k] = r
			}
		}
		return out, true, nil
	}
	return v, true, nil
}

// brokenRules returns the names of the template's Rules whose assertions fail.
func (e cfnEval) brokenRules(t *testing.T, tpl map[string]any) []string {
	t.Helper()
	var broken []string
	for _, name := range slices.Sorted(maps.Keys(section(t, tpl, "Rules"))) {
		rule := section(t, tpl, "Rules")[name].(map[string]any)
		if c, ok := rule["RuleCondition"]; ok {
			applies, err := e.cond(c)
			if err != nil {
				t.Fatalf("rule %s: RuleCondition: %v", name, err)
			}
			if !applies {
				continue
			}
		}
		asserts, _ := rule["Assertions"].([]any)
		if len(asserts) == 0 {
			t.Fatalf("rule %s has no Assertions", name)
		}
		for i, a := range asserts {
			am := a.(map[string]any)
			if d, _ := am["AssertDescription"].(string); strings.TrimSpace(d) == "" {
				t.Errorf("rule %s assertion %d has no AssertDescription", name, i)
			}
			ok, err := e.cond(am["Assert"])
			if err != nil {
				t.Fatalf("rule %s assertion %d: %v", name, i, err)
			}
			if !ok {
				broken = append(broken, name)
				break
			}
		}
	}
	return broken
}

// Parameter values of a deployable MSK or self-managed stack; each case of the tests
// below changes some of them.
const (
	clusterARN = "arn:aws:kafka:eu-west-1:111122223333:cluster/ordersync-dev/11111111-2222-3333-4444-555555555555-1"
	secretARN  = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:AmazonMSK_ordersync-AbCdEf"
	keyARN     = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

func stackParams(kv ...string) map[string]string {
	p := map[string]string{
		"KafkaBootstrapServers": "b-1.example:9098", "SubnetIds": "subnet-1,subnet-2", "SecurityGroupIds": "sg-1",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return p
}

var (
	mskIAM   = []string{"KafkaSource", "MSK", "KafkaAuth", "msk-iam", "MskClusterArn", clusterARN}
	mskScram = []string{"KafkaSource", "MSK", "KafkaAuth", "scram-sha-512", "MskClusterArn", clusterARN,
		"KafkaSecretArn", secretARN, "KafkaSecretKmsKeyArn", keyARN}
	selfScram = []string{"KafkaSource", "SelfManagedKafka", "KafkaAuth", "scram-sha-512", "KafkaSecretArn", secretARN}
)

func with(base []string, kv ...string) []string { return append(slices.Clone(base), kv...) }

// TestTemplateRules: the Rules accept every deployable combination and refuse each
// missing or contradictory parameter, naming the rule that catches it. Every rule is
// shown able to fail.
func TestTemplateRules(t *testing.T) {
	tpl := loadTemplate(t)
	tests := []struct {
		name   string
		params []string
		broken []string
	}{
		{"msk with iam", mskIAM, nil},
		{"msk with scram", mskScram, nil},
		{"msk with scram and jwt", with(mskScram, "JwtIssuer", "https://issuer.example", "JwtAudience", "web"), nil},
		{"self-managed with scram", selfScram, nil},
		{"self-managed with scram and a key", with(selfScram, "KafkaSecretKmsKeyArn", keyARN), nil},
		{"msk without a cluster", with(mskIAM, "MskClusterArn", ""), []string{"MskIamNeedsMsk", "MskNeedsCluster"}},
		{"msk iam without tls", with(mskIAM, "KafkaTLS", "false"), []string{"MskIamNeedsMsk"}},
		{"msk scram without a key", with(mskScram, "KafkaSecretKmsKeyArn", ""), []string{"MskScramNeedsKeyAndTLS"}},
		{"msk scram without tls", with(mskScram, "KafkaTLS", "false"), []string{"MskScramNeedsKeyAndTLS"}},
		{"msk scram without a secret", with(mskScram, "KafkaSecretArn", ""), []string{"ScramNeedsSecretArn"}},
		{"msk iam with a secret", with(mskIAM, "KafkaSecretArn", secretARN), []string{"SecretOnlyWithScram"}},
		{"msk without auth with a key", with(mskIAM, "KafkaAuth", "none", "KafkaSecretKmsKeyArn", keyARN), []string{"SecretOnlyWithScram"}},
		{"self-managed with iam", with(selfScram, "KafkaAuth", "msk-iam", "KafkaSecretArn", ""), []string{"MskIamNeedsMsk", "SelfManagedUsesScram"}},
		{"self-managed without auth", with(selfScram, "KafkaAuth", "none", "KafkaSecretArn", ""), []string{"SelfManagedUsesScram"}},
		{"self-managed with a cluster", with(selfScram, "MskClusterArn", clusterARN), []string{"SelfManagedUsesScram"}},
		{"self-managed without a secret", with(selfScram, "KafkaSecretArn", ""), []string{"ScramNeedsSecretArn"}},
		{"issuer without audience", with(mskIAM, "JwtIssuer", "https://issuer.example"), []string{"JwtIssuerWithAudience"}},
		{"audience without issuer", with(mskIAM, "JwtAudience", "web"), []string{"JwtIssuerWithAudience"}},
		{"template defaults", nil, []string{"MskIamNeedsMsk", "MskNeedsCluster"}},
		{"provisioned trigger with every error control", with(mskIAM, "TriggerMode", "Provisioned", "BisectBatchOnFunctionError", "true",
			"MaximumRetryAttempts", "3", "MaximumRecordAgeInSeconds", "3600", "ReportBatchItemFailures", "true",
			"OnFailureDestination", "kafka://orders.failed"), nil},
		{"bisect on demand", with(mskIAM, "BisectBatchOnFunctionError", "true"), []string{"ErrorControlsNeedProvisionedMode"}},
		{"retry limit on demand", with(mskIAM, "MaximumRetryAttempts", "3"), []string{"ErrorControlsNeedProvisionedMode"}},
		{"record age on demand", with(mskIAM, "MaximumRecordAgeInSeconds", "3600"), []string{"ErrorControlsNeedProvisionedMode"}},
		{"partial batch on demand", with(mskIAM, "ReportBatchItemFailures", "true"), []string{"ErrorControlsNeedProvisionedMode"}},
		{"destination on demand", with(mskIAM, "OnFailureDestination", "kafka://orders.failed"), []string{"ErrorControlsNeedProvisionedMode"}},
		{"destination on a self-managed trigger", with(selfScram, "TriggerMode", "Provisioned", "OnFailureDestination", "kafka://orders.failed"), []string{"OnFailureDestinationNeedsMSK"}},
	}
	caught := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := stackParams(tt.params...)
			if tt.params == nil {
				p = nil
			}
			got := newEval(t, tpl, p).brokenRules(t, tpl)
			if !slices.Equal(got, tt.broken) {
				t.Errorf("broken rules %v, want %v", got, tt.broken)
			}
			for _, r := range got {
				caught[r] = true
			}
		})
	}
	for name := range section(t, tpl, "Rules") {
		if !caught[name] {
			t.Errorf("rule %s fails in no case: add one that shows it can", name)
		}
	}
}

// validateOrder returns the properties of the validate-order function a deployment with
// these parameters creates, with every Fn::If resolved.
func validateOrder(t *testing.T, tpl map[string]any, e cfnEval) (string, map[string]any) {
	t.Helper()
	var found []string
	for _, id := range []string{"ValidateOrderFunction", "ValidateOrderSelfManagedFunction"} {
		r := section(t, tpl, "Resources")[id].(map[string]any)
		if ok, err := e.cond(map[string]any{"Condition": r["Condition"]}); err != nil {
			t.Fatal(err)
		} else if ok {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d validate-order functions %v, want exactly one", len(found), found)
	}
	props, _, err := e.resolve(section(t, tpl, "Resources")[found[0]].(map[string]any)["Properties"])
	if err != nil {
		t.Fatal(err)
	}
	return found[0], props.(map[string]any)
}

// roleStatements returns the IAM statements the template gives a function: its inline
// policies and the managed policies of the template it names.
func roleStatements(t *testing.T, tpl map[string]any, e cfnEval, props map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	pols, _ := props["Policies"].([]any)
	for _, p := range pols {
		pm, ok := p.(map[string]any)
		if !ok {
			continue // an AWS managed policy by name
		}
		if ref, ok := pm["Ref"].(string); ok {
			r := section(t, tpl, "Resources")[ref].(map[string]any)
			if r["Type"] != "AWS::IAM::ManagedPolicy" {
				t.Fatalf("Policies names %s, a %v", ref, r["Type"])
			}
			if ok, err := e.cond(map[string]any{"Condition": r["Condition"]}); err != nil || !ok {
				t.Fatalf("Policies names %s, which this deployment does not create (%v)", ref, err)
			}
			res, _, err := e.resolve(r["Properties"].(map[string]any)["PolicyDocument"])
			if err != nil {
				t.Fatal(err)
			}
			pm = res.(map[string]any)
		}
		out = append(out, statementList(pm["Statement"])...)
	}
	return out
}

// grants reports the statements that allow action, as "Resource (Condition)" texts.
func grants(stmts []map[string]any, action string) []string {
	var out []string
	for _, s := range stmts {
		if s["Effect"] == "Allow" && slices.Contains(strs(s["Action"]), action) {
			out = append(out, fmt.Sprintf("%v %v", s["Resource"], s["Condition"]))
		}
	}
	return out
}

// TestTriggerReadsItsSecret: where the trigger authenticates with SASL/SCRAM, the role
// of validate-order (whose role the trigger uses) may read exactly that secret, and
// decrypt it with exactly the given customer-managed key, through Secrets Manager only.
// Without SCRAM it gets neither.
func TestTriggerReadsItsSecret(t *testing.T) {
	tpl := loadTemplate(t)
	const (
		readSecret = "map[Ref:KafkaSecretArn] <nil>"
		decrypt    = "map[Ref:KafkaSecretKmsKeyArn] map[StringEquals:map[kms:EncryptionContext:SecretARN:map[Ref:KafkaSecretArn] kms:ViaService:map[Fn::Sub:secretsmanager.${AWS::Region}.amazonaws.com]]]"
	)
	tests := []struct {
		name            string
		params          []string
		function        string
		secret, kmsKeys []string
	}{
		{"msk with scram", mskScram, "ValidateOrderFunction", []string{readSecret}, []string{decrypt}},
		{"self-managed with scram and a key", with(selfScram, "KafkaSecretKmsKeyArn", keyARN), "ValidateOrderSelfManagedFunction", []string{readSecret}, []string{decrypt}},
		{"self-managed with scram", selfScram, "ValidateOrderSelfManagedFunction", []string{readSecret}, nil},
		{"msk with iam", mskIAM, "ValidateOrderFunction", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEval(t, tpl, stackParams(tt.params...))
			id, props := validateOrder(t, tpl, e)
			if id != tt.function {
				t.Fatalf("deploys %s, want %s", id, tt.function)
			}
			stmts := roleStatements(t, tpl, e, props)
			if got := grants(stmts, "secretsmanager:GetSecretValue"); !slices.Equal(got, tt.secret) {
				t.Errorf("secretsmanager:GetSecretValue on %q, want %q", got, tt.secret)
			}
			if got := grants(stmts, "kms:Decrypt"); !slices.Equal(got, tt.kmsKeys) {
				t.Errorf("kms:Decrypt on %q, want %q", got, tt.kmsKeys)
			}
			if id != "ValidateOrderFunction" {
				return
			}
			// The MSK trigger authenticates with the secret exactly when the role can read it.
			ev := props["Events"].(map[string]any)["Submitted"].(map[string]any)["Properties"].(map[string]any)
			got := fmt.Sprint(ev["SourceAccessConfigurations"])
			want := "<nil>"
			if tt.secret != nil {
				want = "[map[Type:SASL_SCRAM_512_AUTH URI:map[Ref:KafkaSecretArn]]]"
			}
			if got != want {
				t.Errorf("MSK SourceAccessConfigurations %s, want %s", got, want)
			}
		})
	}
}
