package envelope_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/envelope"
)

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, filepath.Join("testdata", name), got)
}

// TestGoldenOrder pins the bytes of an order record value.
func TestGoldenOrder(t *testing.T) {
	o := sampleOrder()
	b, err := orderCodec().Encode(&o)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "order.golden", append(b, '\n'))
	o.Status, o.Reason = "REJECTED", "qty over the limit for <CATALOG-0001> & friends"
	if b, err = orderCodec().Encode(&o); err != nil {
		t.Fatal(err)
	}
	golden(t, "order-rejected.golden", append(b, '\n'))
}

// TestGoldenTypes pins one envelope per Connect type, one per line.
func TestGoldenTypes(t *testing.T) {
	var all []byte
	for _, tc := range typeCases {
		b, err := envelope.Encode(tc.schema, tc.value)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		all = append(append(all, b...), '\n')
	}
	golden(t, "types.golden", all)
}

// TestJsonConverterExample reads the envelope of the Kafka Connect reference
// (keys in another order, white space), checks its values, and re-encodes it
// in JsonConverter's own key order.
func TestJsonConverterExample(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "jsonconverter-example.json"))
	if err != nil {
		t.Fatal(err)
	}
	schema, value, err := envelope.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	st := value.(*envelope.Struct)
	checks := map[string]string{
		"id":     "int64 42",
		"sku":    "<nil> <nil>",
		"amount": "decimal 123.45 scale 2",
		"ts":     "time 2023-11-14T22:13:20Z UTC",
	}
	for name, want := range checks {
		v, ok := st.Get(name)
		if !ok {
			t.Fatalf("no field %s", name)
		}
		if got := canon(v); got != want {
			t.Errorf("%s = %v, want %s", name, got, want)
		}
	}
	out, err := envelope.Encode(schema, value)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "jsonconverter-example.golden", append(out, '\n'))
}
