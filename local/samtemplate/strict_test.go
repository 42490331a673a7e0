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
