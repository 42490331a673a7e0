package envelope_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ordersync/ordersync/shared/envelope"
)

type Payment struct {
	ID     string    `connect:"id"`
	Amount int64     `connect:"amount"`
	PaidAt time.Time `connect:"paid_at,timestamp"`
	Note   string    `connect:"note,optional"`
}

func ExampleCodec() {
	codec, err := envelope.NewCodec[Payment]("payments")
	if err != nil {
		fmt.Println(err)
		return
	}
	p := Payment{ID: "p-1", Amount: 1250, PaidAt: time.Date(2024, 11, 14, 22, 13, 20, 0, time.UTC)}
	b, err := codec.Encode(&p)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output:
	// {"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"amount"},{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"paid_at"},{"type":"string","optional":true,"field":"note"}],"optional":false,"name":"payments"},"payload":{"id":"p-1","amount":1250,"paid_at":1731622400000,"note":null}}
}

// Append writes into a buffer the caller reuses, for example one taken from a
// sync.Pool and put back once the record is acknowledged.
func ExampleCodec_Append() {
	codec, err := envelope.NewCodec[Payment]("payments")
	if err != nil {
		fmt.Println(err)
		return
	}
	buf := make([]byte, 0, 1024)
	for i, amount := range []int64{100, 250} {
		p := Payment{ID: fmt.Sprintf("p-%d", i), Amount: amount, PaidAt: time.UnixMilli(0)}
		if buf, err = codec.Append(buf[:0], &p); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(string(buf[bytes.Index(buf, []byte(`"payload":`)):]))
	}
	// Output:
	// "payload":{"id":"p-0","amount":100,"paid_at":0,"note":null}}
	// "payload":{"id":"p-1","amount":250,"paid_at":0,"note":null}}
}

func ExampleCodec_Decode() {
	codec, err := envelope.NewCodec[Payment]("payments")
	if err != nil {
		fmt.Println(err)
		return
	}
	record := []byte(`{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"amount"},{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"paid_at"},{"type":"string","optional":true,"field":"note"}],"optional":false,"name":"payments"},` +
		`"payload":{"id":"p-1","amount":1250,"paid_at":1731622400000,"note":"first"}}`)
	var p Payment
	if err := codec.Decode(record, &p); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.ID, p.Amount, p.PaidAt.Format(time.RFC3339), p.Note)
	// Output:
	// p-1 1250 2024-11-14T22:13:20Z first
}

// Decode reads an envelope of any schema, as a sink does.
func ExampleDecode() {
	schema, value, err := envelope.Decode([]byte(`{"schema":{"type":"struct","fields":[` +
		`{"field":"id","type":"int64","optional":false},` +
		`{"field":"sku","type":"string","optional":true},` +
		`{"field":"amount","type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},` +
		`{"field":"ts","type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1}]},` +
		`"payload":{"id":42,"sku":null,"amount":"MDk=","ts":1700000000000}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	row := value.(*envelope.Struct)
	for _, f := range schema.Fields {
		v, _ := row.Get(f.Name)
		fmt.Printf("%s (%s %s): %v\n", f.Name, f.Schema.Type, f.Schema.Name, v)
	}
	// Output:
	// id (int64 ): 42
	// sku (string ): <nil>
	// amount (bytes org.apache.kafka.connect.data.Decimal): 123.45
	// ts (int64 org.apache.kafka.connect.data.Timestamp): 2023-11-14 22:13:20 +0000 UTC
}

func ExampleEncode() {
	schema := &envelope.Schema{Type: envelope.StructType, Name: "prices", Fields: []envelope.Field{
		{Name: "sku", Schema: &envelope.Schema{Type: envelope.String}},
		{Name: "price", Schema: envelope.DecimalSchema(2, false)},
		{Name: "stock", Schema: &envelope.Schema{Type: envelope.Map,
			Keys: &envelope.Schema{Type: envelope.Int32}, Values: &envelope.Schema{Type: envelope.Int64}}},
	}}
	row := envelope.NewStruct(schema)
	for name, v := range map[string]any{
		"sku":   "CATALOG-0001",
		"price": envelope.Decimal{Unscaled: big.NewInt(-1999), Scale: 2},
		"stock": map[int32]int64{7: 3, 1: 10},
	} {
		if err := row.Set(name, v); err != nil {
			fmt.Println(err)
			return
		}
	}
	b, err := envelope.Encode(schema, row)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output:
	// {"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"sku"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"price"},{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"int64","optional":false},"optional":false,"field":"stock"}],"optional":false,"name":"prices"},"payload":{"sku":"CATALOG-0001","price":"+DE=","stock":[[1,10],[7,3]]}}
}

// Errors name the exact place of the problem and wrap a sentinel error.
func ExamplePathError() {
	_, _, err := envelope.Decode([]byte(`{"schema":{"type":"struct","fields":[{"field":"qty","type":"int32"}]},"payload":{"qty":3000000000}}`))
	fmt.Println(err)
	var pe *envelope.PathError
	if errors.As(err, &pe) {
		fmt.Println(pe.Path, errors.Is(err, envelope.ErrRange))
	}
	// Output:
	// payload.qty: out of range: 3000000000 does not fit int32
	// payload.qty true
}

func ExampleSchema_MarshalJSON() {
	s := &envelope.Schema{Type: envelope.StructType, Name: "orders", Fields: []envelope.Field{
		{Name: "order_id", Schema: &envelope.Schema{Type: envelope.String}},
		{Name: "created_at", Schema: envelope.Timestamp(false)},
	}}
	b, err := s.MarshalJSON()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output:
	// {"type":"struct","fields":[{"type":"string","optional":false,"field":"order_id"},{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"created_at"}],"optional":false,"name":"orders"}
}
