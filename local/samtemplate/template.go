// Package samtemplate provides the parts of an AWS SAM template.yaml that the local stack
// runs: functions with their build targets, environment, HTTP API routes and Kafka triggers.
package samtemplate

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ordersync/ordersync/internal/cfnyaml"
)

// Errors returned by Load and Parse.
var (
	// ErrTemplate is returned when the template cannot be read as a SAM template, or a
	// value it needs refers to something only AWS can resolve.
	ErrTemplate = errors.New("template")
	// errNoValue is a value of AWS::NoValue: the property is left out.
	errNoValue = errors.New("AWS::NoValue")
)

// Lambda's defaults when neither the function nor Globals set a value.
const (
	DefaultTimeout    = 3 * time.Second
	DefaultMemorySize = 128
	DefaultBatchSize  = 100
	// DefaultBatchingWindow is Lambda's MaximumBatchingWindowInSeconds for Kafka sources
	// that do not set one.
	DefaultBatchingWindow = 500 * time.Millisecond
)

// Template is the runnable content of a SAM template.
type Template struct {
	Parameters map[string]Parameter
	Functions  []Function // sorted by logical id
}

// Parameter is one entry of the template's Parameters.
type Parameter struct {
	Type          string
	Default       string
	AllowedValues []string
	Description   string
}

// Function is an AWS::Serverless::Function with Globals applied.
type Function struct {
	LogicalID    string
	FunctionName string // FunctionName resolved, or the logical id
	CodeURI      string
	Handler      string
	Runtime      string
	BuildMethod  string // Metadata.BuildMethod, e.g. "makefile"
	Timeout      time.Duration
	MemorySize   int
	Environment  map[string]string
	Routes       []Route
	Triggers     []KafkaTrigger
}

// Route is an HttpApi event.
type Route struct {
	Event  string // the event's name in the template
	Method string // upper case; "ANY" matches every method
	Path   string // e.g. /order-service/{userId}/orders; "$default" catches everything else
}

// Key is the route key API Gateway puts in the event, e.g. "POST /orders/{id}" or "$default".
func (r Route) Key() string {
	if r.Path == "$default" {
		return "$default"
	}
	return r.Method + " " + r.Path
}

// Kafka event source kinds as they appear in a template.
const (
	MSK              = "MSK"
	SelfManagedKafka = "SelfManagedKafka"
)

// KafkaTrigger is an MSK or SelfManagedKafka event.
type KafkaTrigger struct {
	Event            string
	Kind             string // MSK or SelfManagedKafka
	Topics           []string
	ConsumerGroupID  string // empty when the template leaves it to Lambda
	BatchSize        int
	BatchingWindow   time.Duration
	StartingPosition string // TRIM_HORIZON, LATEST or AT_TIMESTAMP
	Stream           string // the MSK cluster ARN, when it resolves
	BootstrapServers []string
	Enabled          bool
	Errors           TriggerErrors
}

// Load reads a template file.
func Load(path string, opts ...Option) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	t, err := Parse(b, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Option changes how a template is resolved.
type Option func(*resolver)

// WithParameters overrides parameter defaults, as `sam deploy --parameter-overrides` does.
func WithParameters(values map[string]string) Option {
	return func(r *resolver) {
		for k, v := range values {
			r.params[k] = v
		}
	}
}

// WithPseudo sets pseudo parameters such as AWS::Region or AWS::StackName.
func WithPseudo(values map[string]string) Option {
	return func(r *resolver) {
		for k, v := range values {
			r.pseudo[k] = v
		}
	}
}

// Parse reads a template from its YAML text.
func Parse(data []byte, opts ...Option) (*Template, error) {
	v, err := cfnyaml.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: top level is not a mapping", ErrTemplate)
	}
	r := &resolver{
		params: map[string]string{},
		pseudo: map[string]string{
			"AWS::Region":    "us-east-1",
			"AWS::AccountId": "123456789012",
			"AWS::StackName": "ordersync-local",
			"AWS::Partition": "aws",
			"AWS::URLSuffix": "amazonaws.com",
		},
		conds: map[string]any{},
	}
	t := &Template{Parameters: map[string]Parameter{}}
	for name, v := range mapOf(root["Parameters"]) {
		m := mapOf(v)
		p := Parameter{Type: str(m["Type"]), Description: str(m["Description"])}
		if d, ok := m["Default"]; ok {
			p.Default = scalar(d)
		}
		for _, a := range listOf(m["AllowedValues"]) {
			p.AllowedValues = append(p.AllowedValues, scalar(a))
		}
		t.Parameters[name] = p
		r.params[name] = p.Default
	}
	for _, o := range opts {
		o(r)
	}
	r.conds = mapOf(root["Conditions"])

	globals := mapOf(mapOf(root["Globals"])["Function"])
	for id, v := range mapOf(root["Resources"]) {
		res := mapOf(v)
		if str(res["Type"]) != "AWS::Serverless::Function" {
			continue
		}
		if c := str(res["Condition"]); c != "" {
			ok, err := r.condition(c)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			if !ok {
				continue
			}
		}
		f, err := r.function(id, res, globals)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		t.Functions = append(t.Functions, f)
	}
	slices.SortFunc(t.Functions, func(a, b Function) int { return strings.Compare(a.LogicalID, b.LogicalID) })
	return t, nil
}

// Function returns the function with the given logical id.
func (t *Template) Function(logicalID string) (Function, bool) {
	for _, f := range t.Functions {
		if f.LogicalID == logicalID {
			return f, true
		}
	}
	return Function{}, false
}

func (r *resolver) function(id string, res, globals map[string]any) (Function, error) {
	props := mapOf(res["Properties"])
	get := func(k string) any {
		if v, ok := props[k]; ok {
			return v
		}
		return globals[k]
	}
	f := Function{
		LogicalID:   id,
		BuildMethod: str(mapOf(res["Metadata"])["BuildMethod"]),
		Timeout:     DefaultTimeout,
		MemorySize:  DefaultMemorySize,
		Environment: map[string]string{},
	}
	var err error
	if f.FunctionName, err = r.optString(get("FunctionName")); err != nil || f.FunctionName == "" {
		f.FunctionName = id
	}
	if f.CodeURI, err = r.optString(get("CodeUri")); err != nil {
		return f, fmt.Errorf("CodeUri: %w", err)
	}
	if f.Handler, err = r.optString(get("Handler")); err != nil {
		return f, fmt.Errorf("Handler: %w", err)
	}
	if f.Runtime, err = r.optString(get("Runtime")); err != nil {
		return f, fmt.Errorf("Runtime: %w", err)
	}
	if err := r.limits(&f, get); err != nil {
		return f, err
	}
	if err := r.environment(&f, globals["Environment"], props["Environment"]); err != nil {
		return f, err
	}
	if err := r.events(&f, mapOf(props["Events"])); err != nil {
		return f, err
	}
	return f, nil
}

// limits reads Timeout and MemorySize.
func (r *resolver) limits(f *Function, get func(string) any) error {
	if v := get("Timeout"); v != nil {
		s, err := r.String(v)
		if err != nil {
			return fmt.Errorf("Timeout: %w", err)
		}
		n, err := strconv.ParseFloat(s, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("%w: Timeout %q is not a positive number of seconds", ErrTemplate, s)
		}
		f.Timeout = time.Duration(n * float64(time.Second))
	}
	if v := get("MemorySize"); v != nil {
		s, err := r.String(v)
		if err != nil {
			return fmt.Errorf("MemorySize: %w", err)
		}
		if f.MemorySize, err = strconv.Atoi(s); err != nil {
			return fmt.Errorf("%w: MemorySize %q is not a number", ErrTemplate, s)
		}
	}
	return nil
}

// environment merges the variables of Globals and then the function's own, which win,
// as SAM merges them; AWS::NoValue removes a variable.
func (r *resolver) environment(f *Function, sources ...any) error {
	for _, src := range sources {
		for k, v := range mapOf(mapOf(src)["Variables"]) {
			s, err := r.String(v)
			if errors.Is(err, errNoValue) {
				delete(f.Environment, k)
				continue
			}
			if err != nil {
				return fmt.Errorf("Environment %s: %w", k, err)
			}
			f.Environment[k] = s
		}
	}
	return nil
}

// events reads the HttpApi routes and Kafka triggers, in the order of their names.
func (r *resolver) events(f *Function, events map[string]any) error {
	names := make([]string, 0, len(events))
	for name := range events {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		ev := mapOf(events[name])
		p := mapOf(ev["Properties"])
		switch kind := str(ev["Type"]); kind {
		case "HttpApi":
			rt, err := r.route(name, p)
			if err != nil {
				return fmt.Errorf("event %s %w", name, err)
			}
			f.Routes = append(f.Routes, rt)
		case MSK, SelfManagedKafka:
			kt, err := r.trigger(name, kind, p)
			if err != nil {
				return fmt.Errorf("event %s: %w", name, err)
			}
			f.Triggers = append(f.Triggers, kt)
		}
	}
	return nil
}

// route reads an HttpApi event; without Path it is the $default route.
func (r *resolver) route(name string, p map[string]any) (Route, error) {
	rt := Route{Event: name}
	var err error
	if rt.Path, err = r.text(p, "Path", "$default"); err != nil {
		return rt, err
	}
	if rt.Method, err = r.text(p, "Method", "ANY"); err != nil {
		return rt, err
	}
	rt.Method = strings.ToUpper(rt.Method)
	if rt.Path == "$default" {
		rt.Method = "ANY"
	}
	return rt, nil
}

func (r *resolver) trigger(name, kind string, p map[string]any) (KafkaTrigger, error) {
	kt := KafkaTrigger{Event: name, Kind: kind, BatchSize: DefaultBatchSize, BatchingWindow: DefaultBatchingWindow, Enabled: true, StartingPosition: "TRIM_HORIZON"}
	for _, v := range listOf(p["Topics"]) {
		s, err := r.String(v)
		if err != nil {
			return kt, fmt.Errorf("Topics: %w", err)
		}
		kt.Topics = append(kt.Topics, s)
	}
	if len(kt.Topics) == 0 {
		return kt, fmt.Errorf("%w: no Topics", ErrTemplate)
	}
	var err error
	if kt.StartingPosition, err = r.text(p, "StartingPosition", kt.StartingPosition); err != nil {
		return kt, err
	}
	if kt.BatchSize, err = r.number(p, "BatchSize", kt.BatchSize); err != nil {
		return kt, err
	}
	if kt.BatchSize < 1 {
		return kt, fmt.Errorf("%w: BatchSize %d is not a positive number", ErrTemplate, kt.BatchSize)
	}
	window, ok, err := r.property(p, "MaximumBatchingWindowInSeconds")
	if err != nil {
		return kt, err
	}
	if ok {
		n, err := strconv.Atoi(window)
		if err != nil || n < 0 {
			return kt, fmt.Errorf("%w: MaximumBatchingWindowInSeconds %q is not a number", ErrTemplate, window)
		}
		kt.BatchingWindow = time.Duration(n) * time.Second
	}
	enabled, err := r.text(p, "Enabled", "true")
	if err != nil {
		return kt, err
	}
	kt.Enabled = enabled != "false"
	cfgKey := "AmazonManagedKafkaEventSourceConfig"
	if kind == SelfManagedKafka {
		cfgKey = "SelfManagedKafkaEventSourceConfig"
	}
	gid, ok := p["ConsumerGroupId"]
	if !ok {
		gid, ok = mapOf(p[cfgKey])["ConsumerGroupId"]
	}
	if v := gid; ok {
		if kt.ConsumerGroupID, err = r.String(v); err != nil {
			return kt, fmt.Errorf("ConsumerGroupId: %w", err)
		}
	}
	if v, ok := p["Stream"]; ok {
		// An ARN built from resources only exists in AWS; locally it is informational.
		kt.Stream, _ = r.String(v)
	}
	for _, v := range listOf(mapOf(p["KafkaBootstrapServers"])["Endpoints"]) {
		if s, err := r.String(v); err == nil {
			kt.BootstrapServers = append(kt.BootstrapServers, s)
		}
	}
	if v, ok := p["KafkaBootstrapServers"]; ok && kt.BootstrapServers == nil {
		for _, e := range listOf(v) {
			if s, err := r.String(e); err == nil {
				kt.BootstrapServers = append(kt.BootstrapServers, s)
			}
		}
	}
	kt.Errors, err = r.triggerErrors(p)
	return kt, err
}
