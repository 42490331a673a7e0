package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Errors returned by LoadConfig and ParseConfig (wrapped, with the key at fault).
var (
	ErrConfig      = errors.New("bad connector config")
	ErrUnsupported = errors.New("not supported by the local sink")
)

// Insert modes (insert.mode).
const (
	Insert = "insert"
	Upsert = "upsert"
	Update = "update"
)

// Primary key modes (pk.mode).
const (
	PKNone        = "none"
	PKKafka       = "kafka"
	PKRecordKey   = "record_key"
	PKRecordValue = "record_value"
)

// Converter classes the local sink understands.
const (
	StringConverter = "org.apache.kafka.connect.storage.StringConverter"
	JSONConverter   = "org.apache.kafka.connect.json.JsonConverter"
)

// ConnectorClass is the only connector.class the local sink applies.
const ConnectorClass = "io.confluent.connect.jdbc.JdbcSinkConnector"

// Config is a parsed JdbcSinkConnector config: the Kafka Connect REST body
// {"name": ..., "config": {...}} that production registers.
type Config struct {
	Name  string            // connector name; the consumer group is "connect-" + Name
	Raw   map[string]string // every config key as given
	Path  string            // file it came from, if any
	Group string            // consumer group, connect-<name> as Kafka Connect names it

	Topics      []string
	TopicsRegex string

	KeyConverter            string // StringConverter or JSONConverter
	KeySchemasEnable        bool
	ValueConverter          string // JSONConverter
	ValueSchemasEnable      bool
	ReplaceNullWithDefault  bool
	InsertMode              string
	PKMode                  string
	PKFields                []string
	FieldsWhitelist         []string
	TableNameFormat         string
	QuoteIdentifiers        bool
	AutoCreate, AutoEvolve  bool
	DeleteEnabled           bool
	BatchSize               int
	MaxRetries              int
	RetryBackoff            time.Duration
	ErrorsToleranceAll      bool
	ErrorsLogEnable         bool
	DLQTopic                string
	DLQReplicationFactor    int16
	DLQContextHeadersEnable bool
}

// Defaults from JdbcSinkConfig and the Kafka Connect framework.
var defaults = map[string]string{
	"insert.mode":           Insert,
	"pk.mode":               PKNone,
	"table.name.format":     "${topic}",
	"batch.size":            "3000",
	"max.retries":           "10",
	"retry.backoff.ms":      "3000",
	"quote.sql.identifiers": "always",
	"errors.tolerance":      "none",
	"errors.deadletterqueue.topic.replication.factor": "3",
	"key.converter.schemas.enable":                    "true",
	"value.converter.schemas.enable":                  "true",
	"replace.null.with.default":                       "true",
	"db.timezone":                                     "UTC",
}

// LoadConfig reads a connector file such as connect/orders-sink.json.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read connector config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	cfg.Path = path
	return cfg, nil
}

// ParseConfig parses a Kafka Connect REST body {"name": ..., "config": {...}}. Config
// values may be JSON strings, numbers or booleans, as the REST API accepts. Settings that
// production would honour but the local sink cannot (SMTs, another connector class, a
// schemaless converter) are errors rather than being ignored.
func ParseConfig(data []byte) (Config, error) {
	var body struct {
		Name   string                     `json:"name"`
		Config map[string]json.RawMessage `json:"config"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&body); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if body.Config == nil {
		return Config{}, fmt.Errorf("%w: no \"config\" object", ErrConfig)
	}
	raw := make(map[string]string, len(body.Config))
	for k, v := range body.Config {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			var scalar any
			if err := json.Unmarshal(v, &scalar); err != nil {
				return Config{}, fmt.Errorf("%w: %s: %w", ErrConfig, k, err)
			}
			switch scalar.(type) {
			case float64, bool:
				s = strings.TrimSpace(string(v))
			default:
				return Config{}, fmt.Errorf("%w: %s must be a string", ErrConfig, k)
			}
		}
		raw[k] = s
	}
	name := body.Name
	if n, ok := raw["name"]; ok && name == "" {
		name = n
	} else if ok && n != name {
		return Config{}, fmt.Errorf("%w: config name %q differs from connector name %q", ErrConfig, n, name)
	}
	if name == "" {
		return Config{}, fmt.Errorf("%w: no connector \"name\"", ErrConfig)
	}
	return newConfig(name, raw)
}

// settings reads raw connector settings, with the defaults for missing keys.
type settings map[string]string

func (r settings) get(k string) string {
	if v, ok := r[k]; ok {
		return strings.TrimSpace(v)
	}
	return defaults[k]
}

func (r settings) boolean(k string) (bool, error) {
	switch strings.ToLower(r.get(k)) {
	case "true":
		return true, nil
	case "false", "":
		return false, nil
	}
	return false, bad(k, "%q is not true or false", r.get(k))
}

// oneOf reads a setting that takes one of values, in any case, and returns it in lower
// case.
func (r settings) oneOf(k string, values ...string) (string, error) {
	v := strings.ToLower(r.get(k))
	if slices.Contains(values, v) {
		return v, nil
	}
	n := len(values) - 1
	return "", bad(k, "%q is not %s or %s", r.get(k), strings.Join(values[:n], ", "), values[n])
}

func (r settings) integer(k string, min int) (int, error) {
	n, err := strconv.Atoi(r.get(k))
	if err != nil || n < min {
		return 0, bad(k, "%q is not an integer ≥ %d", r.get(k), min)
	}
	return n, nil
}

func (r settings) list(k string) []string {
	var out []string
	for _, f := range strings.Split(r.get(k), ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// bad is a value of key k that no connector would take.
func bad(k, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrConfig, k, fmt.Sprintf(format, a...))
}

// unsupported is a value of key k that production honours and the local sink cannot.
func unsupported(k, format string, a ...any) error {
	return fmt.Errorf("%s: %s: %w", k, fmt.Sprintf(format, a...), ErrUnsupported)
}

func newConfig(name string, raw map[string]string) (Config, error) {
	c := Config{Name: name, Raw: raw, Group: "connect-" + name}
	r := settings(raw)
	for _, parse := range []func(settings) error{c.parseSources, c.parseConverters, c.parseWrites, c.parseDDL, c.parseErrors} {
		if err := parse(r); err != nil {
			return c, err
		}
	}
	return c, nil
}

// parseSources reads the connector class, SMTs and topics.
func (c *Config) parseSources(r settings) error {
	if cls := r.get("connector.class"); cls != ConnectorClass && cls != "JdbcSinkConnector" {
		return unsupported("connector.class", "%q (the local sink applies %s)", cls, ConnectorClass)
	}
	for _, k := range []string{"transforms", "predicates"} {
		if r.get(k) != "" {
			return unsupported(k, "%q: single message transforms are not applied locally, so records would be written differently from production", r.get(k))
		}
	}
	c.Topics = r.list("topics")
	c.TopicsRegex = r.get("topics.regex")
	switch {
	case len(c.Topics) == 0 && c.TopicsRegex == "":
		return bad("topics", "one of topics or topics.regex is required")
	case len(c.Topics) > 0 && c.TopicsRegex != "":
		return bad("topics", "topics and topics.regex are mutually exclusive")
	case c.TopicsRegex != "":
		if _, err := regexp.Compile(c.TopicsRegex); err != nil {
			return bad("topics.regex", "%v", err)
		}
	}
	return nil
}

// parseConverters reads the key and value converters and their settings.
func (c *Config) parseConverters(r settings) error {
	var err error
	c.KeyConverter = r.get("key.converter")
	if c.KeyConverter == "" {
		c.KeyConverter = StringConverter // what MSK Connect's default worker config uses
	}
	if c.KeyConverter != StringConverter && c.KeyConverter != JSONConverter {
		return unsupported("key.converter", "%q (use %s or %s)", c.KeyConverter, StringConverter, JSONConverter)
	}
	if c.KeySchemasEnable, err = r.boolean("key.converter.schemas.enable"); err != nil {
		return err
	}
	if c.KeyConverter == JSONConverter && !c.KeySchemasEnable {
		return unsupported("key.converter.schemas.enable", "false (schemaless JSON keys)")
	}
	c.ValueConverter = r.get("value.converter")
	if c.ValueConverter != JSONConverter {
		return bad("value.converter", "%q: the JDBC sink needs %s with value.converter.schemas.enable=true (MSK Connect defaults to StringConverter)", c.ValueConverter, JSONConverter)
	}
	if c.ValueSchemasEnable, err = r.boolean("value.converter.schemas.enable"); err != nil {
		return err
	}
	if !c.ValueSchemasEnable {
		return bad("value.converter.schemas.enable", "false: schemaless values make every JdbcSinkConnector put fail")
	}
	for _, k := range []string{"value.converter.replace.null.with.default", "replace.null.with.default"} {
		if v, ok := r[k]; ok && strings.EqualFold(strings.TrimSpace(v), "false") {
			return unsupported(k, "false")
		}
	}
	c.ReplaceNullWithDefault = true
	return nil
}

// parseWrites reads how rows are written: modes, keys, fields, batches and retries.
func (c *Config) parseWrites(r settings) error {
	c.InsertMode = strings.ToLower(r.get("insert.mode"))
	if !slices.Contains([]string{Insert, Upsert, Update}, c.InsertMode) {
		return bad("insert.mode", "%q is not insert, upsert or update", c.InsertMode)
	}
	c.PKMode = strings.ToLower(r.get("pk.mode"))
	if !slices.Contains([]string{PKNone, PKKafka, PKRecordKey, PKRecordValue}, c.PKMode) {
		return bad("pk.mode", "%q is not none, kafka, record_key or record_value", c.PKMode)
	}
	c.PKFields = r.list("pk.fields")
	switch c.PKMode {
	case PKKafka:
		if len(c.PKFields) != 0 && len(c.PKFields) != 3 {
			return bad("pk.fields", "pk.mode=kafka takes no names or exactly 3 (topic, partition, offset columns)")
		}
	case PKNone:
		c.PKFields = nil
	}
	c.FieldsWhitelist = r.list("fields.whitelist")
	var err error
	if c.DeleteEnabled, err = r.boolean("delete.enabled"); err != nil {
		return err
	}
	if c.DeleteEnabled && c.PKMode != PKRecordKey {
		return bad("delete.enabled", "true requires pk.mode=record_key (as JdbcSinkConfig)")
	}
	if c.BatchSize, err = r.integer("batch.size", 1); err != nil {
		return err
	}
	if c.MaxRetries, err = r.integer("max.retries", 0); err != nil {
		return err
	}
	ms, err := r.integer("retry.backoff.ms", 0)
	if err != nil {
		return err
	}
	c.RetryBackoff = time.Duration(ms) * time.Millisecond
	if tz := r.get("db.timezone"); tz != "UTC" {
		return unsupported("db.timezone", "%q (the local sink writes UTC)", tz)
	}
	return nil
}

// parseDDL reads the table name, identifier quoting, auto.create and auto.evolve.
func (c *Config) parseDDL(r settings) error {
	c.TableNameFormat = r.get("table.name.format")
	if c.TableNameFormat == "" {
		return bad("table.name.format", "empty")
	}
	quote, err := r.oneOf("quote.sql.identifiers", "always", "never")
	if err != nil {
		return err
	}
	c.QuoteIdentifiers = quote == "always"
	if c.AutoCreate, err = r.boolean("auto.create"); err != nil {
		return err
	}
	c.AutoEvolve, err = r.boolean("auto.evolve")
	return err
}

// parseErrors reads errors.tolerance, error logging and the dead letter queue.
func (c *Config) parseErrors(r settings) error {
	tolerance, err := r.oneOf("errors.tolerance", "none", "all")
	if err != nil {
		return err
	}
	c.ErrorsToleranceAll = tolerance == "all"
	if c.ErrorsLogEnable, err = r.boolean("errors.log.enable"); err != nil {
		return err
	}
	c.DLQTopic = r.get("errors.deadletterqueue.topic.name")
	rf, err := r.integer("errors.deadletterqueue.topic.replication.factor", -1)
	if err != nil || rf == 0 || rf > 32767 {
		return bad("errors.deadletterqueue.topic.replication.factor", "%q", r.get("errors.deadletterqueue.topic.replication.factor"))
	}
	c.DLQReplicationFactor = int16(rf)
	if c.DLQContextHeadersEnable, err = r.boolean("errors.deadletterqueue.context.headers.enable"); err != nil {
		return err
	}
	if c.DLQTopic != "" && slices.Contains(c.Topics, c.DLQTopic) {
		return bad("errors.deadletterqueue.topic.name", "%q is also a source topic", c.DLQTopic)
	}
	return nil
}

// reporter reports whether failed puts are unrolled and their records reported, as
// SinkConnectorConfig.enableErrantRecordReporter: a DLQ topic or error logging is set.
func (c *Config) reporter() bool { return c.DLQTopic != "" || c.ErrorsLogEnable }

// Table returns the table name for topic: table.name.format with ${topic} replaced.
func (c *Config) Table(topic string) string {
	return strings.ReplaceAll(c.TableNameFormat, "${topic}", topic)
}

// Unknown returns the config keys that neither JdbcSinkConnector nor the Kafka Connect
// framework defines, sorted. Kafka Connect only warns about them; a typo there is a
// setting production silently ignores.
func (c *Config) Unknown() []string {
	var out []string
	for k := range c.Raw {
		if !KnownKey(k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// KnownKey reports whether k is a JdbcSinkConnector (10.x) or Kafka Connect connector
// config key, including converter, transform and predicate prefixes.
func KnownKey(k string) bool {
	if slices.Contains(knownKeys, k) {
		return true
	}
	for _, p := range knownPrefixes {
		if strings.HasPrefix(k, p) && len(k) > len(p) {
			return true
		}
	}
	return false
}

var knownKeys = []string{
	// Kafka Connect ConnectorConfig / SinkConnectorConfig
	"name", "connector.class", "tasks.max", "topics", "topics.regex",
	"key.converter", "value.converter", "header.converter", "transforms", "predicates",
	"config.action.reload", "errors.retry.timeout", "errors.retry.delay.max.ms",
	"errors.tolerance", "errors.log.enable", "errors.log.include.messages",
	"errors.deadletterqueue.topic.name", "errors.deadletterqueue.topic.replication.factor",
	"errors.deadletterqueue.context.headers.enable",
	// JdbcSinkConfig
	"connection.url", "connection.user", "connection.password", "connection.attempts",
	"connection.backoff.ms", "dialect.name", "insert.mode", "batch.size", "delete.enabled",
	"table.name.format", "pk.mode", "pk.fields", "fields.whitelist", "db.timezone",
	"date.timezone", "auto.create", "auto.evolve", "quote.sql.identifiers", "table.types",
	"max.retries", "retry.backoff.ms", "replace.null.with.default", "timestamp.fields.list",
	"timestamp.precision.mode", "string.output.value.column.name", "mssql.use.merge.holdlock",
}

// Converter settings are passed through by prefix (value.converter.schemas.enable and
// so on), as are transform and predicate settings and client overrides.
var knownPrefixes = []string{
	"key.converter.", "value.converter.", "header.converter.",
	"transforms.", "predicates.",
	"consumer.override.", "producer.override.", "admin.override.",
}
