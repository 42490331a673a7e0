package stack

import (
	"cmp"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ordersync/ordersync/local/runtimeapi"
	"github.com/ordersync/ordersync/local/samtemplate"
	"github.com/ordersync/ordersync/local/trigger"
	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/kafka"
)

// function is one template function as the stack runs it.
type function struct {
	tf   samtemplate.Function
	name string
	pkg  string
	bin  string
	tags []string // go build tags: lambda.norpc and the local ones
	env  []string
	rt   *runtimeapi.Function
}

// localNeeds is what a function needs on this machine beyond template.yaml.
type localNeeds struct {
	// Tags are go build tags added to lambda.norpc, e.g. a driver only the local build
	// links.
	Tags []string
	// Env returns variables that replace the template's (a variable of this shell still
	// wins over both).
	Env func(r *run) map[string]string
}

// localFunctions lists the functions that need more than their template entry, by short
// name (the last element of the package). To add one, add a line here.
var localFunctions = map[string]localNeeds{
	// get-orders reads the database the sinks write: DATABASE_URL, or the SQLite file.
	"get-orders": {Tags: []string{"sqlite"}, Env: databaseEnv},
}

// databaseEnv points a function at the stack's database: DATABASE_URL when this shell
// sets it, else the embedded SQLite file as DATABASE_FILE.
func databaseEnv(r *run) map[string]string {
	if u := r.getenv("DATABASE_URL"); u != "" {
		return map[string]string{"DATABASE_URL": u}
	}
	return map[string]string{"DATABASE_URL": "", "DATABASE_FILE": filepath.Join(r.dataDir, db.SQLiteFile)}
}

// function resolves a template function for this machine: its package, binary, build
// tags and environment.
func (r *run) function(tf samtemplate.Function) (*function, error) {
	pkg, err := tf.Package(r.cfg.Dir)
	if err != nil {
		return nil, err
	}
	fn := &function{tf: tf, name: tf.Name(r.cfg.Dir), pkg: pkg, tags: []string{"lambda.norpc"}}
	fn.bin = filepath.Join(r.dataDir, "bin", fn.name, "bootstrap")
	vars := maps.Clone(tf.Environment)
	if needs, ok := localFunctions[fn.name]; ok {
		fn.tags = append(fn.tags, needs.Tags...)
		if needs.Env != nil {
			maps.Copy(vars, needs.Env(r))
		}
	}
	fn.env = functionEnv(vars, r.cfg.LookupEnv, r.kcfg)
	return fn, nil
}

func region(getenv func(string) string) string {
	return cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1")
}

// functionEnv is a function's environment: the template's variables, each overridden by
// the same variable in this shell (as `sam local --env-vars` would), and the Kafka
// connection of this stack.
func functionEnv(tmpl map[string]string, lookup func(string) (string, bool), kcfg kafka.Config) []string {
	env := map[string]string{}
	for k, v := range tmpl {
		if sv, ok := lookup(k); ok {
			v = sv
		}
		env[k] = v
	}
	env["KAFKA_BROKERS"] = strings.Join(kcfg.Brokers, ",")
	env["KAFKA_AUTH"] = kcfg.Auth
	env["KAFKA_TLS"] = strconv.FormatBool(kcfg.TLS)
	if kcfg.Username != "" {
		env["KAFKA_USERNAME"], env["KAFKA_PASSWORD"] = kcfg.Username, kcfg.Password
	} else {
		delete(env, "KAFKA_USERNAME")
		delete(env, "KAFKA_PASSWORD")
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func triggerConfig(fn *function, t samtemplate.KafkaTrigger, kcfg kafka.Config, region string) trigger.Config {
	tc := trigger.Config{
		Name:             fn.name + "/" + t.Event,
		Brokers:          kcfg.Brokers,
		Topics:           t.Topics,
		Group:            t.ConsumerGroupID,
		BatchSize:        t.BatchSize,
		Window:           t.BatchingWindow,
		StartAtLatest:    t.StartingPosition == "LATEST",
		BootstrapServers: strings.Join(kcfg.Brokers, ","),
		Function:         fn.rt,
	}
	if tc.Group == "" {
		// Lambda names the group after the event source mapping's UUID; locally the
		// function and event name it, stable across restarts.
		tc.Group = "ordersync-local-" + fn.tf.LogicalID + "-" + t.Event
	}
	tc.InstanceID = tc.Group + "-local"
	e := t.Errors
	tc.Errors = trigger.ErrorHandling{LimitRetries: e.MaxRetries >= 0, MaxRetries: e.MaxRetries, MaxRecordAge: e.MaxRecordAge,
		Bisect: e.Bisect, ReportBatchItemFailures: e.ReportBatchItemFailures}
	switch t.Kind {
	case samtemplate.SelfManagedKafka:
		tc.EventSource = trigger.SourceSelfManagedKafka
	default:
		tc.EventSource = trigger.SourceMSK
		tc.EventSourceARN = t.Stream
		if tc.EventSourceARN == "" {
			tc.EventSourceARN = "arn:aws:kafka:" + region + ":123456789012:cluster/ordersync-local/00000000-0000-0000-0000-000000000000-1"
		}
	}
	return tc
}
