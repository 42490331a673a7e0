package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// rawJSON is a non-string JSON value read from a function's log line: written as it
// came, in text and in JSON.
type rawJSON []byte

// emfKey is the metadata member of a CloudWatch Embedded Metric Format document, which
// the functions print on stdout; text lines leave it out and keep the metric values.
const emfKey = "_aws"

// parseRecord reads a line that is one JSON object, as slog's JSON handler writes it:
// level and msg become the record's, time is dropped (the stream stamps the line), and
// every other member, in order, becomes an attribute. A metrics document without msg is
// the message "metrics".
func parseRecord(line []byte, now time.Time) (slog.Record, bool) {
	line = bytes.TrimSpace(line)
	if len(line) < 2 || line[0] != '{' || !json.Valid(line) {
		return slog.Record{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{'
		return slog.Record{}, false
	}
	level, msg, hasMsg, isEMF := slog.LevelInfo, "", false, false
	var attrs []slog.Attr
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return slog.Record{}, false
		}
		key, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return slog.Record{}, false
		}
		var s string
		isString := json.Unmarshal(raw, &s) == nil
		switch {
		case key == slog.TimeKey:
		case key == slog.LevelKey && isString && level.UnmarshalText([]byte(s)) == nil:
		case key == slog.MessageKey && isString:
			msg, hasMsg = s, true
		case isString:
			attrs = append(attrs, slog.String(key, s))
		default:
			isEMF = isEMF || key == emfKey
			attrs = append(attrs, slog.Any(key, rawJSON(raw)))
		}
	}
	if !hasMsg && isEMF {
		msg = "metrics"
	}
	r := slog.NewRecord(now, level, msg, 0)
	r.AddAttrs(attrs...)
	return r, true
}

// appendText writes "time [component] LEVEL message key=value ...".
func appendText(b *bytes.Buffer, at time.Time, component string, r slog.Record, pre []slog.Attr) {
	b.WriteString(at.Format("15:04:05.000"))
	b.WriteString(" [")
	b.WriteString(component)
	b.WriteString("] ")
	b.WriteString(levelName(r.Level))
	if r.Message != "" {
		b.WriteByte(' ')
		b.WriteString(r.Message)
	}
	each := func(a slog.Attr) bool {
		if a.Key != emfKey {
			appendTextAttr(b, "", a)
		}
		return true
	}
	for _, a := range pre {
		each(a)
	}
	r.Attrs(each)
}

func appendTextAttr(b *bytes.Buffer, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			appendTextAttr(b, p, g)
		}
		return
	}
	if a.Key == "" {
		return
	}
	b.WriteByte(' ')
	b.WriteString(prefix + a.Key)
	b.WriteByte('=')
	switch v.Kind() {
	case slog.KindString:
		b.WriteString(quoted(v.String()))
	case slog.KindTime:
		b.WriteString(v.Time().Format(time.RFC3339Nano))
	case slog.KindAny:
		switch x := v.Any().(type) {
		case rawJSON:
			b.Write(x)
		case error:
			b.WriteString(quoted(x.Error()))
		default:
			b.WriteString(quoted(fmt.Sprint(x)))
		}
	default:
		b.WriteString(v.String())
	}
}

// quoted returns s as is when it reads as one word, else Go-quoted.
func quoted(s string) string {
	if s == "" || !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if r == '=' || r == '"' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// appendJSON writes {"time":…,"component":…,"level":…,"msg":…, attributes…}.
func appendJSON(b *bytes.Buffer, at time.Time, component string, r slog.Record, pre []slog.Attr) {
	b.WriteString(`{"time":`)
	appendJSONValue(b, at.Format(time.RFC3339Nano))
	b.WriteString(`,"component":`)
	appendJSONValue(b, component)
	b.WriteString(`,"level":`)
	appendJSONValue(b, levelName(r.Level))
	b.WriteString(`,"msg":`)
	appendJSONValue(b, r.Message)
	each := func(a slog.Attr) bool {
		appendJSONAttr(b, a)
		return true
	}
	for _, a := range pre {
		each(a)
	}
	r.Attrs(each)
	b.WriteByte('}')
}

func appendJSONAttr(b *bytes.Buffer, a slog.Attr) {
	v := a.Value.Resolve()
	if a.Key == "" {
		if v.Kind() == slog.KindGroup { // inlined, as slog does
			for _, g := range v.Group() {
				appendJSONAttr(b, g)
			}
		}
		return
	}
	b.WriteByte(',')
	appendJSONValue(b, a.Key)
	b.WriteByte(':')
	switch v.Kind() {
	case slog.KindGroup:
		b.WriteByte('{')
		inner := bytes.Buffer{}
		for _, g := range v.Group() {
			appendJSONAttr(&inner, g)
		}
		b.Write(bytes.TrimPrefix(inner.Bytes(), []byte(",")))
		b.WriteByte('}')
	case slog.KindTime:
		appendJSONValue(b, v.Time().Format(time.RFC3339Nano))
	case slog.KindDuration:
		b.WriteString(strconv.FormatInt(int64(v.Duration()), 10))
	case slog.KindAny:
		switch x := v.Any().(type) {
		case rawJSON:
			b.Write(x)
		case error:
			appendJSONValue(b, x.Error())
		default:
			appendJSONValue(b, x)
		}
	default:
		appendJSONValue(b, v.Any())
	}
}

// appendJSONValue writes v as JSON, or its fmt form as a JSON string when it has none.
func appendJSONValue(b *bytes.Buffer, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		raw, _ = json.Marshal(fmt.Sprint(v))
	}
	b.Write(raw)
}
