package ordersync

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The SAM CLI's own files: samconfig.toml, which sam build and sam deploy read, and
// env.json, the --env-vars file of sam local invoke.

// TestEnvJSON checks env.json, the --env-vars file of sam local invoke: it may only set
// variables the template declares (SAM ignores the others) and points the functions at a
// broker on the host.
func TestEnvJSON(t *testing.T) {
	env := envJSON(t)
	tpl := loadTemplate(t)
	declared := map[string]bool{}
	globalEnv := section(t, section(t, section(t, section(t, tpl, "Globals"), "Function"), "Environment"), "Variables")
	for k := range globalEnv {
		declared[k] = true
	}
	for scope, vars := range env {
		ok := scope == "Parameters"
		own := map[string]bool{}
		if r, found := section(t, tpl, "Resources")[scope].(map[string]any); found {
			ok = true
			if p, _ := r["Properties"].(map[string]any); p != nil {
				if e, _ := p["Environment"].(map[string]any); e != nil {
					for k := range e["Variables"].(map[string]any) {
						own[k] = true
					}
				}
			}
		}
		if !ok {
			t.Errorf("env.json: %s is neither Parameters nor a function", scope)
		}
		for k := range vars {
			if !declared[k] && !own[k] {
				t.Errorf("env.json: %s.%s is not declared in template.yaml, so SAM ignores it", scope, k)
			}
		}
	}
	p := env["Parameters"]
	if p["KAFKA_BROKERS"] != "host.docker.internal:9092" || p["KAFKA_AUTH"] != "none" {
		t.Errorf("env.json: KAFKA_BROKERS %q, KAFKA_AUTH %q; want host.docker.internal:9092 and none", p["KAFKA_BROKERS"], p["KAFKA_AUTH"])
	}
}

// samConfig reads samconfig.toml: its text, and the parameter overrides of each
// environment that has deploy parameters (environment → parameter → value).
func samConfig(t *testing.T) (text string, envs map[string]map[string]string) {
	t.Helper()
	text = string(readFile(t, "samconfig.toml"))
	envs = map[string]map[string]string{}
	env := ""
	header := regexp.MustCompile(`^\[([A-Za-z0-9_-]+)\.deploy\.parameters\]$`)
	override := regexp.MustCompile(`^"([A-Za-z0-9]+)=([^"]*)",?$`)
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			env = ""
			if m := header.FindStringSubmatch(line); m != nil {
				env = m[1]
				envs[env] = map[string]string{}
			}
		} else if m := override.FindStringSubmatch(line); m != nil && env != "" {
			envs[env][m[1]] = m[2]
		}
	}
	return text, envs
}

// TestSAMConfig checks that samconfig.toml has a default and a prod environment and that
// every parameter override names a template parameter with an allowed value.
func TestSAMConfig(t *testing.T) {
	text, envs := samConfig(t)
	for _, env := range []string{"default", "prod"} {
		for _, want := range []string{
			"[" + env + ".global.parameters]", "[" + env + ".deploy.parameters]",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("samconfig.toml has no %s", want)
			}
		}
	}
	params := section(t, loadTemplate(t), "Parameters")
	overrides := 0
	for env, values := range envs {
		for name, value := range values {
			overrides++
			p, ok := params[name].(map[string]any)
			if !ok {
				t.Errorf("samconfig.toml [%s] overrides %s, which template.yaml does not declare", env, name)
				continue
			}
			if allowed, ok := p["AllowedValues"].([]any); ok && !slices.ContainsFunc(allowed, func(v any) bool { return fmt.Sprint(v) == value }) {
				t.Errorf("samconfig.toml [%s]: %s=%s is not one of %v", env, name, value, allowed)
			}
		}
	}
	if overrides == 0 {
		t.Fatal("samconfig.toml has no parameter overrides")
	}
}

// TestSAMConfigPassesRules: each samconfig.toml environment deploys, as far as the Rules
// can tell.
func TestSAMConfigPassesRules(t *testing.T) {
	_, envs := samConfig(t)
	tpl := loadTemplate(t)
	if len(envs) < 2 {
		t.Fatalf("samconfig.toml: %d environments with deploy parameters, want default and prod", len(envs))
	}
	for name, params := range envs {
		if broken := newEval(t, tpl, params).brokenRules(t, tpl); len(broken) > 0 {
			t.Errorf("samconfig.toml [%s] breaks the template's rules %v", name, broken)
		}
	}
}
