// Tests of the connector configs, the MSK Connect template and register.sh.
package connect_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/ordersync/ordersync/internal/cfnyaml"
	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/sink"
)

type restBody struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
}

func connectorFiles(t *testing.T) map[string]restBody {
	t.Helper()
	paths, err := filepath.Glob("*.json")
	if err != nil || len(paths) < 2 {
		t.Fatalf("connector files: %v %v", paths, err)
	}
	out := map[string]restBody{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var b restBody
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			t.Fatalf("%s: want {\"name\": string, \"config\": {string: string}}: %v", p, err)
		}
		out[p] = b
	}
	return out
}

// Every key is one JdbcSinkConnector or the Kafka Connect framework knows, the file loads
// in the local sink, and no secret is in the file.
func TestConnectorFiles(t *testing.T) {
	for path, b := range connectorFiles(t) {
		t.Run(path, func(t *testing.T) {
			for k := range b.Config {
				if !sink.KnownKey(k) {
					t.Errorf("%s: %q is not a JdbcSinkConnector or Kafka Connect key", path, k)
				}
			}
			cfg, err := sink.LoadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.AutoCreate || cfg.AutoEvolve {
				t.Errorf("auto.create/auto.evolve on: tables come from db/migrations")
			}
			if b.Config["value.converter"] != sink.JSONConverter || b.Config["value.converter.schemas.enable"] != "true" ||
				b.Config["key.converter"] != sink.StringConverter {
				t.Errorf("converters must be set explicitly (MSK Connect defaults to StringConverter)")
			}
			for _, k := range []string{"connection.password", "connection.user"} {
				if v := b.Config[k]; !strings.HasPrefix(v, "${secretsmanager:") || !strings.HasSuffix(v, "}") {
					t.Errorf("%s = %q, want a ${secretsmanager:...} config provider reference", k, v)
				}
			}
			if cfg.InsertMode != sink.Upsert || cfg.PKMode != sink.PKRecordValue || strings.Join(cfg.PKFields, ",") != "order_id" {
				t.Errorf("want upsert by record_value order_id")
			}
			if !cfg.ErrorsToleranceAll || cfg.DLQTopic == "" || !cfg.DLQContextHeadersEnable {
				t.Errorf("want errors.tolerance=all with a DLQ and context headers")
			}
		})
	}
}

func TestKnownKeyRejectsTypos(t *testing.T) {
	for _, k := range []string{"pk.field", "insert_mode", "errors.deadletterqueue.topic", "batchsize"} {
		if sink.KnownKey(k) {
			t.Errorf("KnownKey(%q) = true", k)
		}
	}
}

// node finds a mapping value by key path.
func node(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, key := range path {
		m, _ := v.(map[string]any)
		next, ok := m[key]
		if !ok {
			t.Fatalf("no %s in template", strings.Join(path, "."))
		}
		v = next
	}
	return v
}

// str is a scalar as text ("" for a mapping or a list).
func str(v any) string {
	switch v := v.(type) {
	case map[string]any, []any, nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func TestMSKConnectTemplate(t *testing.T) {
	data, err := os.ReadFile("msk-connect.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := cfnyaml.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	res := node(t, doc, "Resources")
	for name, r := range res.(map[string]any) {
		types[name] = str(node(t, r, "Type"))
	}
	want := map[string]string{
		"JdbcSinkPlugin":       "AWS::KafkaConnect::CustomPlugin",
		"WorkerConfiguration":  "AWS::KafkaConnect::WorkerConfiguration",
		"WorkerLogGroup":       "AWS::Logs::LogGroup",
		"ServiceExecutionRole": "AWS::IAM::Role",
		"OrdersSink":           "AWS::KafkaConnect::Connector",
		"OrderRejectionsSink":  "AWS::KafkaConnect::Connector",
	}
	if !reflect.DeepEqual(types, want) {
		t.Fatalf("resources %v, want %v", types, want)
	}
	if node(t, res, "WorkerLogGroup", "Properties", "RetentionInDays") == nil {
		t.Fatal("log group without retention")
	}

	files := connectorFiles(t)
	for logical, file := range map[string]string{"OrdersSink": "orders-sink.json", "OrderRejectionsSink": "order-rejections-sink.json"} {
		props := node(t, res, logical, "Properties")
		if v := str(node(t, props, "KafkaClusterClientAuthentication", "AuthenticationType")); v != "IAM" {
			t.Errorf("%s: auth %s, want IAM", logical, v)
		}
		if v := str(node(t, props, "KafkaClusterEncryptionInTransit", "EncryptionType")); v != "TLS" {
			t.Errorf("%s: encryption %s, want TLS", logical, v)
		}
		node(t, props, "Capacity", "AutoScaling", "McuCount")
		if v := str(node(t, props, "LogDelivery", "WorkerLogDelivery", "CloudWatchLogs", "Enabled")); v != "true" {
			t.Errorf("%s: CloudWatch log delivery off", logical)
		}
		if v := str(node(t, props, "ConnectorName")); v != files[file].Name {
			t.Errorf("%s: ConnectorName %s, want %s (its consumer group is connect-<name>)", logical, v, files[file].Name)
		}
		// The connector configuration says what the JSON file says; values computed by
		// CloudFormation (connection.url, credentials, tasks.max) are checked for shape.
		cc, _ := node(t, props, "ConnectorConfiguration").(map[string]any)
		seen := map[string]bool{}
		for k, v := range cc {
			seen[k] = true
			if !sink.KnownKey(k) {
				t.Errorf("%s: unknown key %s", logical, k)
			}
			s, ok := v.(string)
			if !ok {
				if k == "connection.password" && !strings.Contains(strings.Join(flatten(v), " "), "${secretsmanager:") {
					t.Errorf("%s: connection.password is not a config provider reference", logical)
				}
				continue
			}
			if want := files[file].Config[k]; s != want {
				t.Errorf("%s: %s = %q, %s says %q", logical, k, s, file, want)
			}
		}
		for k := range files[file].Config {
			if !seen[k] {
				t.Errorf("%s: %s missing (it is in %s)", logical, k, file)
			}
		}
	}

	// Least privilege: kafka-cluster actions on exact ARNs; the only wildcards are the
	// MSK Connect internal topics and groups AWS documents.
	policies, _ := node(t, res, "ServiceExecutionRole", "Properties", "Policies").([]any)
	for _, pol := range policies {
		statements, _ := node(t, pol, "PolicyDocument", "Statement").([]any)
		for _, st := range statements {
			if _, isIf := st.(map[string]any)["Fn::If"]; isIf {
				continue
			}
			actions := flatten(node(t, st, "Action"))
			resources := strings.Join(flatten(node(t, st, "Resource")), " ")
			for _, a := range actions {
				if a == "*" || strings.HasSuffix(a, ":*") {
					t.Errorf("wildcard action %s", a)
				}
			}
			if strings.HasPrefix(actions[0], "kafka-cluster:") {
				stripped := strings.ReplaceAll(resources, "__amazon_msk_connect_*", "")
				if strings.Contains(stripped, "*") {
					t.Errorf("kafka-cluster statement with a wildcard resource: %s", resources)
				}
			}
			if strings.Contains(strings.Join(actions, " "), "secretsmanager:") && !strings.Contains(resources, "${DbSecretName}") {
				t.Errorf("secretsmanager on %s, want the one secret", resources)
			}
		}
	}
}

// flatten returns every scalar under v, map keys included (an intrinsic function's
// name among them).
func flatten(v any) []string {
	switch v := v.(type) {
	case map[string]any:
		var out []string
		for k, x := range v {
			out = append(out, k)
			out = append(out, flatten(x)...)
		}
		return out
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, flatten(x)...)
		}
		return out
	}
	return []string{str(v)}
}

// register.sh PUTs only the config object to /connectors/<name>/config, and a second
// run updates in place.
func TestRegisterScript(t *testing.T) {
	testkit.Long(t, "runs register.sh")
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			testkit.Missing(t, "%s not installed", tool)
		}
	}
	var (
		mu    sync.Mutex
		got   = map[string]map[string]string{}
		calls []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		var cfg map[string]string
		if err != nil || r.Method != http.MethodPut || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &cfg) != nil {
			http.Error(w, `{"error_code":400,"message":"bad request"}`, http.StatusBadRequest)
			return
		}
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/connectors/"), "/config")
		_, existed := got[name]
		got[name] = cfg
		if existed {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusCreated)
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()

	for run, want := range []string{"created", "updated"} {
		cmd := exec.Command("bash", "register.sh")
		cmd.Env = append(os.Environ(), "CONNECT_URL="+srv.URL)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run+1, err, out)
		}
		if strings.Count(string(out), want) != 2 {
			t.Fatalf("run %d output:\n%s\nwant both connectors %s", run+1, out, want)
		}
	}
	for path, b := range connectorFiles(t) {
		if !reflect.DeepEqual(got[b.Name], b.Config) {
			t.Errorf("%s: server got %v, want the config object %v", path, got[b.Name], b.Config)
		}
	}
	if len(calls) != 4 || calls[0] != "PUT /connectors/order-rejections-sink/config" && calls[0] != "PUT /connectors/orders-sink/config" {
		t.Errorf("calls %v", calls)
	}

	// An explicit URL argument and file; a failing server makes the script fail.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error_code":400,"message":"Connector configuration is invalid"}`, http.StatusBadRequest)
	}))
	defer bad.Close()
	out, err := exec.Command("bash", "register.sh", bad.URL, "orders-sink.json").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "HTTP 400") {
		t.Fatalf("register against a failing server: %v\n%s", err, out)
	}
}
