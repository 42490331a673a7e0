package ordersync

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// formatEvent writes v as indented JSON the way the sample events read best: key order
// kept, arrays of numbers (header bytes) on one line, and members the services do not
// send dropped (see dropped).
func formatEvent(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var buf bytes.Buffer
	if err := formatValue(&buf, dec, "", ""); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the event")
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// formatValue copies the next JSON value of dec to buf; path is its dotted key path.
func formatValue(buf *bytes.Buffer, dec *json.Decoder, indent, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '{' {
			return formatObject(buf, dec, indent, path)
		}
		return formatArray(buf, dec, indent, path)
	default:
		b, err := json.Marshal(tok)
		if err != nil {
			return err
		}
		buf.Write(b)
		return nil
	}
}

func formatObject(buf *bytes.Buffer, dec *json.Decoder, indent, path string) error {
	inner := indent + "  "
	n := 0
	buf.WriteByte('{')
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if dropped(path+"."+key, raw) {
			continue
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		n++
		kb, _ := json.Marshal(key)
		buf.WriteString("\n" + inner)
		buf.Write(kb)
		buf.WriteString(": ")
		sub := json.NewDecoder(bytes.NewReader(raw))
		sub.UseNumber()
		if err := formatValue(buf, sub, inner, path+"."+key); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if n > 0 {
		buf.WriteString("\n" + indent)
	}
	buf.WriteByte('}')
	return nil
}

// dropped reports whether a member is left out of a sample: what the AWS services do not
// send although aws-lambda-go's structs always marshal it.
func dropped(path string, raw json.RawMessage) bool {
	switch path {
	case ".requestContext.authentication":
		return true
	case ".eventSourceArn":
		return string(raw) == `""`
	}
	return false
}

func formatArray(buf *bytes.Buffer, dec *json.Decoder, indent, path string) error {
	var items []string
	numbers := true
	for dec.More() {
		var b bytes.Buffer
		if err := formatValue(&b, dec, indent+"  ", path+"[]"); err != nil {
			return err
		}
		s := b.String()
		if strings.ContainsAny(s[:1], "{[\"tfn") {
			numbers = false
		}
		items = append(items, s)
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	switch {
	case len(items) == 0:
		buf.WriteString("[]")
	case numbers:
		buf.WriteString("[" + strings.Join(items, ", ") + "]")
	default:
		buf.WriteString("[\n" + indent + "  " + strings.Join(items, ",\n"+indent+"  ") + "\n" + indent + "]")
	}
	return nil
}
