// Package samtemplate provides the parts of an AWS SAM template.yaml that the local stack
// runs: functions with their build targets, environment, HTTP API routes and Kafka triggers.
package samtemplate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ordersync/ordersync/internal/cfnyaml"
)

// Errors returned by Load and Parse.
var (
	// ErrTemplate is returned when the template cannot be read as a SAM template.
	ErrTemplate = errors.New("template")
	// ErrUnresolved is returned when a value refers to something only AWS can resolve.
	ErrUnresolved = errors.New("unresolved")
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

type resolver struct {
	params map[string]string
	pseudo map[string]string
	conds  map[string]any
}

func (r *resolver) optString(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	return r.String(v)
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// String resolves a template value to a string: scalars, Ref to parameters and pseudo
// parameters, Fn::Sub, Fn::Join, Fn::If, Fn::Select, Fn::Split, Fn::Equals.
func (r *resolver) String(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string, bool, int, float64:
		return scalar(v), nil
	case map[string]any:
		if len(v) != 1 {
			break
		}
		for fn, arg := range v {
			switch fn {
			case "Ref":
				return r.ref(str(arg))
			case "Fn::Sub":
				return r.sub(arg)
			case "Fn::Join":
				return r.join(arg)
			case "Fn::If":
				return r.ifString(arg)
			case "Fn::Select":
				return r.selectString(arg)
			case "Fn::GetAtt", "Fn::ImportValue", "Fn::GetAZs", "Fn::FindInMap", "Fn::Base64", "Fn::Cidr":
				return "", fmt.Errorf("%w: %s", ErrUnresolved, fn)
			}
		}
	}
	return "", fmt.Errorf("%w: cannot read %v as a string", ErrTemplate, v)
}

// ref resolves a parameter or pseudo parameter.
func (r *resolver) ref(name string) (string, error) {
	if name == "AWS::NoValue" {
		return "", errNoValue
	}
	if p, ok := r.params[name]; ok {
		return p, nil
	}
	if p, ok := r.pseudo[name]; ok {
		return p, nil
	}
	return "", fmt.Errorf("%w: Ref %s", ErrUnresolved, name)
}

// sub resolves Fn::Sub: "text ${Name}" or ["text ${Var}", {Var: value}].
func (r *resolver) sub(arg any) (string, error) {
	tmpl, vars := arg, map[string]any{}
	if l := listOf(arg); len(l) == 2 {
		tmpl, vars = l[0], mapOf(l[1])
	}
	s, ok := tmpl.(string)
	if !ok {
		return "", fmt.Errorf("%w: Fn::Sub wants a string", ErrTemplate)
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		var val string
		var err error
		if x, ok := vars[name]; ok {
			val, err = r.String(x)
		} else {
			val, err = r.ref(name)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return val
	})
	out = strings.ReplaceAll(out, "${!", "${")
	return out, firstErr
}

// join resolves Fn::Join: [delimiter, list].
func (r *resolver) join(arg any) (string, error) {
	l := listOf(arg)
	if len(l) != 2 {
		return "", fmt.Errorf("%w: Fn::Join wants [delimiter, list]", ErrTemplate)
	}
	parts := []string{}
	for _, x := range listOf(l[1]) {
		s, err := r.String(x)
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, str(l[0])), nil
}

// ifString resolves Fn::If: [condition, then, else].
func (r *resolver) ifString(arg any) (string, error) {
	l := listOf(arg)
	if len(l) != 3 {
		return "", fmt.Errorf("%w: Fn::If wants [condition, then, else]", ErrTemplate)
	}
	ok, err := r.condition(str(l[0]))
	if err != nil {
		return "", err
	}
	if ok {
		return r.String(l[1])
	}
	return r.String(l[2])
}

// selectString resolves Fn::Select: [index, list].
func (r *resolver) selectString(arg any) (string, error) {
	l := listOf(arg)
	if len(l) != 2 {
		return "", fmt.Errorf("%w: Fn::Select wants [index, list]", ErrTemplate)
	}
	is, err := r.String(l[0])
	if err != nil {
		return "", err
	}
	i, err := strconv.Atoi(is)
	if err != nil {
		return "", fmt.Errorf("%w: Fn::Select index %q", ErrTemplate, is)
	}
	list, err := r.list(l[1])
	if err != nil {
		return "", err
	}
	if i < 0 || i >= len(list) {
		return "", fmt.Errorf("%w: Fn::Select index %d out of range", ErrTemplate, i)
	}
	return list[i], nil
}

func (r *resolver) list(v any) ([]string, error) {
	if m := mapOf(v); m != nil {
		if arg, ok := m["Fn::Split"]; ok {
			l := listOf(arg)
			if len(l) != 2 {
				return nil, fmt.Errorf("%w: Fn::Split wants [delimiter, string]", ErrTemplate)
			}
			s, err := r.String(l[1])
			if err != nil {
				return nil, err
			}
			return strings.Split(s, str(l[0])), nil
		}
	}
	var out []string
	for _, x := range listOf(v) {
		s, err := r.String(x)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (r *resolver) condition(name string) (bool, error) {
	c, ok := r.conds[name]
	if !ok {
		return false, fmt.Errorf("%w: unknown condition %s", ErrTemplate, name)
	}
	return r.boolean(c)
}

func (r *resolver) boolean(v any) (bool, error) {
	m := mapOf(v)
	for fn, arg := range m {
		l := listOf(arg)
		switch fn {
		case "Fn::Equals":
			if len(l) != 2 {
				return false, fmt.Errorf("%w: Fn::Equals wants two values", ErrTemplate)
			}
			a, err := r.String(l[0])
			if err != nil {
				return false, err
			}
			b, err := r.String(l[1])
			if err != nil {
				return false, err
			}
			return a == b, nil
		case "Fn::Not":
			if len(l) != 1 {
				return false, fmt.Errorf("%w: Fn::Not wants one condition", ErrTemplate)
			}
			b, err := r.boolean(l[0])
			return !b, err
		case "Fn::And", "Fn::Or":
			all := fn == "Fn::And"
			for _, x := range l {
				b, err := r.boolean(x)
				if err != nil {
					return false, err
				}
				if all && !b {
					return false, nil
				}
				if !all && b {
					return true, nil
				}
			}
			return all, nil
		case "Condition":
			return r.condition(str(arg))
		}
	}
	return false, fmt.Errorf("%w: cannot read %v as a condition", ErrTemplate, v)
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func listOf(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// Package returns the Go package a function is built from, relative to dir (the project
// root): for BuildMethod makefile, the package the Makefile's build-<LogicalId> recipe
// builds; otherwise CodeUri.
func (f Function) Package(dir string) (string, error) {
	if f.BuildMethod == "makefile" {
		mk := filepath.Join(dir, f.CodeURI, "Makefile")
		pkg, err := makefilePackage(mk, "build-"+f.LogicalID)
		if err != nil {
			return "", err
		}
		return filepath.ToSlash(filepath.Join(f.CodeURI, pkg)), nil
	}
	if f.CodeURI == "" {
		return "", fmt.Errorf("%w: %s has no CodeUri", ErrTemplate, f.LogicalID)
	}
	return filepath.ToSlash(filepath.Clean(f.CodeURI)), nil
}

// Name is a short name for the function: the last element of its Go package, e.g.
// "create-order", or the logical id when the package is unknown.
func (f Function) Name(dir string) string {
	if pkg, err := f.Package(dir); err == nil && pkg != "." {
		return filepath.Base(pkg)
	}
	return f.LogicalID
}

// makefilePackage finds the `./path` argument of the go build in a Makefile target's
// recipe, following one level of variable-free make targets.
func makefilePackage(path, target string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	return makefileTarget(b, path, target, 0)
}

func makefileTarget(b []byte, path, target string, depth int) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	in := false
	var prereqs []string
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, target+":") {
			in = true
			prereqs = strings.Fields(strings.TrimPrefix(line, target+":"))
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			break
		}
		fields := strings.Fields(line)
		for i := len(fields) - 1; i >= 0; i-- {
			if f := fields[i]; strings.HasPrefix(f, "./") {
				return f, nil
			}
		}
	}
	if !in {
		return "", fmt.Errorf("%w: %s has no target %s", ErrTemplate, path, target)
	}
	// A target that only depends on another one builds what that one builds.
	for _, p := range prereqs {
		if depth < 3 && strings.HasPrefix(p, "build-") {
			return makefileTarget(b, path, p, depth+1)
		}
	}
	return "", fmt.Errorf("%w: %s target %s builds no ./package", ErrTemplate, path, target)
}
