package envelope

import (
	"errors"
	"strings"
	"testing"
)

// TestDuplicateKeys: as the README states, a key given twice is ErrSyntax, never "last
// wins" or both kept: in envelope members, struct payloads, maps with string keys (a
// JSON object), maps with other keys (pairs; 1 and 1.0 are one float key), and objects
// the decoder only validates (an unknown schema key's value).
func TestDuplicateKeys(t *testing.T) {
	const (
		strMap   = `{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"string","optional":false},"optional":false}`
		intMap   = `{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"string","optional":false},"optional":false}`
		floatMap = `{"type":"map","keys":{"type":"double","optional":false},"values":{"type":"string","optional":false},"optional":false}`
		st       = `{"type":"struct","fields":[{"type":"int32","optional":false,"field":"a"}],"optional":false}`
	)
	for _, tc := range []struct{ name, doc, path string }{
		{"string map key", `{"schema":` + strMap + `,"payload":{"a":"1","a":"2"}}`, "payload.a"},
		{"string map key, escaped", `{"schema":` + strMap + `,"payload":{"a":"1","\u0061":"2"}}`, "payload.a"},
		{"int map key", `{"schema":` + intMap + `,"payload":[[1,"a"],[1,"b"]]}`, "payload[1][0]"},
		{"float map key", `{"schema":` + floatMap + `,"payload":[[1,"a"],[1.0,"b"]]}`, "payload[1][0]"},
		{"struct member", `{"schema":` + st + `,"payload":{"a":1,"a":2}}`, "payload.a"},
		{"payload first", `{"payload":{"a":1,"a":2},"schema":` + st + `}`, "payload.a"},
		{"envelope member", `{"schema":` + st + `,"payload":{"a":1},"payload":{"a":1}}`, "payload"},
		{"schema key", `{"schema":{"type":"int32","type":"int32","optional":false},"payload":1}`, "schema.type"},
		{"inside an ignored schema key", `{"schema":{"type":"int32","optional":false,"x":{"k":1,"k":2}},"payload":1}`, "schema.x.k"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, v, err := Decode([]byte(tc.doc))
			switch {
			case errors.Is(err, ErrEnvelope): // a member of the envelope itself
			case !errors.Is(err, ErrDuplicateKey) || !errors.Is(err, ErrSyntax) || !strings.HasSuffix(err.Error(), ": invalid json: duplicate key"):
				t.Fatalf("Decode = %v, %v; want a duplicate key error", v, err)
			}
			var pe *PathError
			if !errors.As(err, &pe) || pe.Path != tc.path {
				t.Errorf("error %q, want path %q", err, tc.path)
			}
		})
	}
	distinct := `{"schema":` + intMap + `,"payload":[[1,"a"],[2,"b"]]}`
	if _, v, err := Decode([]byte(distinct)); err != nil || len(v.([]MapEntry)) != 2 {
		t.Errorf("distinct keys: %v, %v", v, err)
	}
}
