package samtemplate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/cfnyaml"
	"github.com/ordersync/ordersync/local/samtemplate"
)

// The stack runs only what CloudFormation would deploy: a template the strict reader
// refuses is refused here too, rather than run with the last duplicate or an alias
// followed.
func TestParseIsStrict(t *testing.T) {
	const fn = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: functions/f\n"
	for _, tc := range []struct {
		name, src string
		want      error
	}{
		{"duplicate key", fn + "      CodeUri: functions/g\n", cfnyaml.ErrDuplicateKey},
		{"alias", "Globals: {Function: &g {Timeout: 3}}\n" + fn + "      Tags: *g\n", cfnyaml.ErrAlias},
		{"unknown tag", fn + "      Handler: !Reff bootstrap\n", cfnyaml.ErrUnknownTag},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := samtemplate.Parse([]byte(tc.src))
			if !errors.Is(err, tc.want) || !errors.Is(err, samtemplate.ErrTemplate) {
				t.Errorf("Parse: %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := samtemplate.Parse([]byte(fn)); err != nil {
		t.Errorf("the template without the fault: %v", err)
	}
}

// A value that only AWS can resolve stops the stack before anything runs, naming what
// could not be resolved.
func TestParseUnresolved(t *testing.T) {
	const fn = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: functions/f\n" +
		"      Environment:\n        Variables:\n          V: "
	for _, tc := range []struct{ name, value, says string }{
		{"GetAtt", "!GetAtt Table.Arn", "Fn::GetAtt is resolved only by AWS"},
		{"Ref to a resource", "!Ref Table", "unresolved Ref Table"},
		{"in a Sub", "!Sub 'arn:${Table}'", "unresolved Ref Table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := samtemplate.Parse([]byte(fn + tc.value + "\n"))
			if !errors.Is(err, samtemplate.ErrTemplate) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Parse: %v, want %v saying %q", err, samtemplate.ErrTemplate, tc.says)
			}
		})
	}
}

// TestCondition: the condition functions as CloudFormation evaluates them from
// parameters, with its limits (Fn::And and Fn::Or take 2 to 10 conditions).
func TestCondition(t *testing.T) {
	params := map[string]string{"Env": "prod", "Alarms": ""}
	conds := map[string]any{
		"IsProd":    map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Env"}, "prod"}},
		"HasAlarms": map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Alarms"}, ""}}}},
	}
	isProd, hasAlarms := map[string]any{"Condition": "IsProd"}, map[string]any{"Condition": "HasAlarms"}
	many := make([]any, 11)
	for i := range many {
		many[i] = isProd
	}
	for _, tc := range []struct {
		name string
		v    any
		want bool
		err  string
	}{
		{"equals", conds["IsProd"], true, ""},
		{"not", hasAlarms, false, ""},
		{"and", map[string]any{"Fn::And": []any{isProd, hasAlarms}}, false, ""},
		{"or", map[string]any{"Fn::Or": []any{isProd, hasAlarms}}, true, ""},
		{"and of one", map[string]any{"Fn::And": []any{isProd}}, false, "Fn::And wants 2 to 10 conditions"},
		{"or of eleven", map[string]any{"Fn::Or": many}, false, "Fn::Or wants 2 to 10 conditions"},
		{"unknown condition", map[string]any{"Condition": "Nope"}, false, "unknown condition Nope"},
		{"unresolved ref", map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Nope"}, "x"}}, false, "unresolved Ref Nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := samtemplate.Condition(params, conds, tc.v)
			if tc.err != "" {
				if !errors.Is(err, samtemplate.ErrTemplate) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want ErrTemplate with %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Condition = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
