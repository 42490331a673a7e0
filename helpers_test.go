package ordersync

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ordersync/ordersync/internal/cfnyaml"
)

// What the repository-level tests read: files of the repository, the template, env.json.

// readFile returns the content of a file of the repository.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// loadTemplate parses template.yaml with its CloudFormation short tags turned into their
// long forms, as plain JSON values (map[string]any, []any, string, json.Number, bool, nil).
func loadTemplate(t *testing.T) map[string]any {
	t.Helper()
	v, err := parseCloudFormationYAML(readFile(t, "template.yaml"))
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("template.yaml: top level is %T, want a mapping", v)
	}
	return m
}

// parseCloudFormationYAML decodes a CloudFormation YAML document into JSON values with
// the one strict reader the stack uses too.
func parseCloudFormationYAML(data []byte) (any, error) {
	v, err := cfnyaml.Parse(data)
	if err != nil {
		return nil, err
	}
	// Round-trip through JSON so numbers become json.Number, as the schema validator wants.
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(raw))
}

// section returns template[key] as a mapping.
func section(t *testing.T, tpl map[string]any, key string) map[string]any {
	t.Helper()
	m, ok := tpl[key].(map[string]any)
	if !ok {
		t.Fatalf("template.yaml: %s is %T, want a mapping", key, tpl[key])
	}
	return m
}

// envJSON reads env.json, the --env-vars file of sam local invoke: scope (Parameters or
// a function's logical id) → variable → value.
func envJSON(t *testing.T) map[string]map[string]string {
	t.Helper()
	var env map[string]map[string]string
	if err := json.Unmarshal(readFile(t, "env.json"), &env); err != nil {
		t.Fatalf("env.json: %v", err)
	}
	return env
}
