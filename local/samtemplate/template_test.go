package samtemplate_test

import (
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/ordersync/ordersync/local/samtemplate"
)

func TestLoad(t *testing.T) {
	tp, err := samtemplate.Load("testdata/template.yaml", samtemplate.WithPseudo(map[string]string{"AWS::Region": "eu-west-1"}))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range tp.Functions {
		ids = append(ids, f.LogicalID)
	}
	if !slices.Equal(ids, []string{"Api", "Worker"}) {
		t.Fatalf("functions %v, want [Api Worker] (MskWorker's condition is false)", ids)
	}
	api, _ := tp.Function("Api")
	if api.Timeout != 10*time.Second || api.MemorySize != 512 || api.Handler != "bootstrap" {
		t.Errorf("globals not applied: %+v", api)
	}
	wantEnv := map[string]string{"KAFKA_BROKERS": "b1:9092,b2:9092", "LOG_LEVEL": "debug", "REGION_NAME": "eu-west-1-x"}
	if len(api.Environment) != len(wantEnv) {
		t.Errorf("environment %v, want %v (AWS::NoValue drops SECRET)", api.Environment, wantEnv)
	}
	for k, v := range wantEnv {
		if api.Environment[k] != v {
			t.Errorf("%s = %q, want %q", k, api.Environment[k], v)
		}
	}
	wantRoutes := []samtemplate.Route{{Event: "Create", Method: "POST", Path: "/things/{id}"}, {Event: "Rest", Method: "ANY", Path: "$default"}}
	if !slices.Equal(api.Routes, wantRoutes) {
		t.Errorf("routes %+v, want %+v", api.Routes, wantRoutes)
	}
	if api.Routes[0].Key() != "POST /things/{id}" || api.Routes[1].Key() != "$default" {
		t.Errorf("route keys %q, %q", api.Routes[0].Key(), api.Routes[1].Key())
	}
	if pkg, err := api.Package("testdata"); err != nil || pkg != "cmd/api" {
		t.Errorf("Api package %q, %v", pkg, err)
	}

	w, _ := tp.Function("Worker")
	if w.Timeout != time.Minute {
		t.Errorf("worker timeout %s", w.Timeout)
	}
	if pkg, err := w.Package("testdata"); err != nil || pkg != "cmd/worker" {
		t.Errorf("Worker package %q, %v (follows build-Other)", pkg, err)
	}
	if w.Name("testdata") != "worker" {
		t.Errorf("worker name %q", w.Name("testdata"))
	}
	if len(w.Triggers) != 1 {
		t.Fatalf("triggers %+v", w.Triggers)
	}
	kt := w.Triggers[0]
	if kt.Kind != samtemplate.SelfManagedKafka || !slices.Equal(kt.Topics, []string{"in"}) || kt.BatchSize != 25 ||
		kt.BatchingWindow != 2*time.Second || kt.ConsumerGroupID != "workers" || !slices.Equal(kt.BootstrapServers, []string{"b1:9092"}) ||
		kt.StartingPosition != "TRIM_HORIZON" {
		t.Errorf("trigger %+v", kt)
	}
}

func TestParametersOverride(t *testing.T) {
	tp, err := samtemplate.Load("testdata/template.yaml", samtemplate.WithParameters(map[string]string{"Source": "MSK", "Topic": "other"}))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := tp.Function("MskWorker")
	if !ok {
		t.Fatal("MskWorker missing with Source=MSK")
	}
	kt := m.Triggers[0]
	if kt.Kind != samtemplate.MSK || kt.Topics[0] != "other" || kt.StartingPosition != "LATEST" || kt.BatchSize != samtemplate.DefaultBatchSize ||
		kt.BatchingWindow != samtemplate.DefaultBatchingWindow || kt.Stream != "" {
		t.Errorf("trigger %+v", kt)
	}
	if pkg, _ := m.Package("testdata"); pkg != "functions/msk" {
		t.Errorf("package from CodeUri: %q", pkg)
	}
}

// The project's own template must stay readable by the local stack.
func TestProjectTemplate(t *testing.T) {
	if _, err := os.Stat("../../template.yaml"); err != nil {
		t.Skip("no template.yaml in the project yet")
	}
	tp, err := samtemplate.Load("../../template.yaml", samtemplate.WithParameters(map[string]string{"KafkaAuth": "none", "KafkaTLS": "false"}))
	if err != nil {
		t.Fatal(err)
	}
	var routes, triggers int
	for _, f := range tp.Functions {
		if _, err := f.Package("../.."); err != nil {
			t.Errorf("%s: %v", f.LogicalID, err)
		}
		routes += len(f.Routes)
		triggers += len(f.Triggers)
	}
	if routes == 0 || triggers == 0 {
		t.Errorf("%d routes and %d Kafka triggers in template.yaml", routes, triggers)
	}
}

// The trigger's error controls come from the project's template with the meaning the
// template gives its parameters; the defaults are the on-demand retry-until-success.
func TestTriggerErrorControls(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params map[string]string
		want   samtemplate.TriggerErrors
	}{
		{"defaults", nil, samtemplate.TriggerErrors{MaxRetries: -1}},
		{"provisioned with every control", map[string]string{"TriggerMode": "Provisioned", "BisectBatchOnFunctionError": "true",
			"MaximumRetryAttempts": "3", "MaximumRecordAgeInSeconds": "600", "ReportBatchItemFailures": "true",
			"OnFailureDestination": "kafka://orders.failed"},
			samtemplate.TriggerErrors{Provisioned: true, Bisect: true, MaxRetries: 3, MaxRecordAge: 10 * time.Minute,
				ReportBatchItemFailures: true, OnFailure: "kafka://orders.failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := map[string]string{"KafkaAuth": "none", "KafkaTLS": "false"}
			maps.Copy(params, tc.params)
			tp, err := samtemplate.Load("../../template.yaml", samtemplate.WithParameters(params))
			if err != nil {
				t.Fatal(err)
			}
			var got []samtemplate.TriggerErrors
			for _, f := range tp.Functions {
				for _, tr := range f.Triggers {
					got = append(got, tr.Errors)
				}
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("trigger error controls = %+v, want one %+v", got, tc.want)
			}
		})
	}
}
