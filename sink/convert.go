package sink

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/twmb/franz-go/pkg/kgo"
)

type converted struct {
	r   *record
	f   *failure
	err error
}

// convertAll converts a batch, spread over the CPUs for large batches; results stay in
// record order.
func (s *Sink) convertAll(krs []*kgo.Record) []converted {
	out := make([]converted, len(krs))
	workers := min(runtime.GOMAXPROCS(0), len(krs)/256)
	if workers < 2 {
		for i, kr := range krs {
			out[i].r, out[i].f, out[i].err = s.convert(kr)
		}
		return out
	}
	var wg sync.WaitGroup
	per := (len(krs) + workers - 1) / workers
	for start := 0; start < len(krs); start += per {
		end := min(start+per, len(krs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := start; i < end; i++ {
				out[i].r, out[i].f, out[i].err = s.convert(krs[i])
			}
		}()
	}
	wg.Wait()
	return out
}

// convert runs the key and value converters and the connector's record checks. A
// converter failure comes back as a failure to report; a record the connector cannot
// take at all (RecordValidator) is an error that stops the sink.
func (s *Sink) convert(kr *kgo.Record) (*record, *failure, error) {
	r := &record{kr: kr, table: parseTableID(s.cfg.Table(kr.Topic))}
	switch s.cfg.KeyConverter {
	case StringConverter:
		r.keySchema = &envelope.Schema{Type: envelope.String, Optional: true}
		if kr.Key != nil {
			k := string(kr.Key)
			if !utf8.ValidString(k) {
				k = strings.ToValidUTF8(k, "\uFFFD") // as new String(bytes, UTF_8)
			}
			r.key = k
		}
	default:
		schema, v, err := envelope.Decode(kr.Key)
		if err == nil && kr.Key != nil && len(kr.Key) == 0 {
			err = errEmpty
		}
		if err != nil {
			return nil, &failure{kr: kr, stage: "KEY_CONVERTER", class: converterClass, exception: dataException,
				err: fmt.Errorf("%w: key: %w", ErrConverter, err)}, nil
		}
		r.keySchema, r.key = schema, v
	}

	schema, v, err := envelope.Decode(kr.Value)
	if err == nil && kr.Value != nil && len(kr.Value) == 0 {
		err = errEmpty
	}
	if err != nil {
		if nullSchema(kr.Value) {
			return nil, nil, s.recordError(kr, "a schemaless value (\"schema\": null)")
		}
		return nil, &failure{kr: kr, stage: "VALUE_CONVERTER", class: converterClass, exception: dataException,
			err: fmt.Errorf("%w: value: %w", ErrConverter, err)}, nil
	}
	if v != nil {
		st, ok := v.(*envelope.Struct)
		if !ok {
			return nil, nil, s.recordError(kr, fmt.Sprintf("a %s value", strings.ToUpper(string(schema.Type))))
		}
		r.valueSchema, r.value = schema, st
	}
	if r.value == nil && !s.cfg.DeleteEnabled {
		return nil, nil, s.recordError(kr, "a null value (a tombstone); drop tombstones with the Filter SMT and the RecordIsTombstone predicate, or set delete.enabled=true with pk.mode=record_key")
	}
	if s.cfg.PKMode == PKRecordKey && r.key == nil {
		return nil, nil, &recordFault{kr, fmt.Errorf("sink %s: %w: pk.mode=record_key requires records with a non-null key, but found record at %s[%d]@%d with a null key",
			s.cfg.Name, ErrRecord, kr.Topic, kr.Partition, kr.Offset)}
	}
	return r, nil, nil
}

func (s *Sink) recordError(kr *kgo.Record, what string) error {
	return &recordFault{kr, fmt.Errorf("sink %s: %w: configured with delete.enabled=%t and pk.mode=%s, it requires records with a non-null Struct value and non-null Struct schema, but found record at %s[%d]@%d with %s",
		s.cfg.Name, ErrRecord, s.cfg.DeleteEnabled, s.cfg.PKMode, kr.Topic, kr.Partition, kr.Offset, what)}
}

// errEmpty is JsonConverter's DataException for a zero-length key or value: Jackson
// finds no JSON in it, so it is neither an envelope nor a tombstone (a tombstone is a
// null value, which Kafka tells apart from an empty one).
var errEmpty = errors.New("zero-length data is not a tombstone (a tombstone is null) and not JSON: JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields")

func nullSchema(value []byte) bool {
	var env struct {
		Schema json.RawMessage `json:"schema"`
	}
	return json.Unmarshal(value, &env) == nil && string(env.Schema) == "null"
}
