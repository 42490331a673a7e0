package envelope_test

import (
	"bytes"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/ordersync/ordersync/shared/order"
)

func TestCodecOrder(t *testing.T) {
	c := orderCodec()
	o := sampleOrder()
	got, err := c.Encode(&o)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != orderJSON {
		t.Fatalf("Encode:\n got %s\nwant %s", got, orderJSON)
	}
	var back order.Order
	if err := c.Decode(got, &back); err != nil {
		t.Fatal(err)
	}
	if back != o {
		t.Fatalf("round trip: got %+v, want %+v", back, o)
	}
	// The generic decoder reads the same bytes to the same values.
	schema, value, err := envelope.Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := schema.MarshalJSON(); string(s) != string(mustJSON(t, c.Schema())) {
		t.Fatalf("generic schema %s", s)
	}
	qty, _ := value.(*envelope.Struct).Get("qty")
	if qty != int32(5) {
		t.Fatalf("qty = %#v", qty)
	}
}

func mustJSON(t *testing.T, s *envelope.Schema) []byte {
	t.Helper()
	b, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCodecAppend(t *testing.T) {
	c := orderCodec()
	o := sampleOrder()
	buf := []byte("key=")
	buf, err := c.Append(buf, &o)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf) != "key="+orderJSON {
		t.Fatalf("Append: %s", buf)
	}
}

type myString string

type inner struct {
	Name string `connect:"name"`
	N    int16  `connect:"n,optional"`
}

type everything struct {
	I8       int8             `connect:"i8"`
	I16      int16            `connect:"i16"`
	I        int              `connect:"i"`
	F32      float32          `connect:"f32"`
	F64      float64          `connect:"f64"`
	B        bool             `connect:"b"`
	S        myString         `connect:"s"`
	Raw      []byte           `connect:"raw"`
	D        time.Time        `connect:"d,date"`
	T        time.Time        `connect:"t,time"`
	Price    envelope.Decimal `connect:"price,decimal=2"`
	Opt      *int32           `connect:"opt"`
	OptZero  int64            `connect:"opt_zero,optional"`
	Tags     []string         `connect:"tags"`
	Attrs    map[string]int32 `connect:"attrs"`
	ByID     map[int64]string `connect:"by_id"`
	Inner    inner            `connect:"inner"`
	InnerPtr *inner           `connect:"inner_ptr"`
	Items    []inner          `connect:"items"`
	Skip     string           `connect:"-"`
	Untagged string
	hidden   int
}

const everythingJSON = `{"schema":{"type":"struct","fields":[` +
	`{"type":"int8","optional":false,"field":"i8"},` +
	`{"type":"int16","optional":false,"field":"i16"},` +
	`{"type":"int64","optional":false,"field":"i"},` +
	`{"type":"float","optional":false,"field":"f32"},` +
	`{"type":"double","optional":false,"field":"f64"},` +
	`{"type":"boolean","optional":false,"field":"b"},` +
	`{"type":"string","optional":false,"field":"s"},` +
	`{"type":"bytes","optional":false,"field":"raw"},` +
	`{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1,"field":"d"},` +
	`{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1,"field":"t"},` +
	`{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"price"},` +
	`{"type":"int32","optional":true,"field":"opt"},` +
	`{"type":"int64","optional":true,"field":"opt_zero"},` +
	`{"type":"array","items":{"type":"string","optional":false},"optional":false,"field":"tags"},` +
	`{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":false},"optional":false,"field":"attrs"},` +
	`{"type":"map","keys":{"type":"int64","optional":false},"values":{"type":"string","optional":false},"optional":false,"field":"by_id"},` +
	`{"type":"struct","fields":[{"type":"string","optional":false,"field":"name"},{"type":"int16","optional":true,"field":"n"}],"optional":false,"field":"inner"},` +
	`{"type":"struct","fields":[{"type":"string","optional":false,"field":"name"},{"type":"int16","optional":true,"field":"n"}],"optional":true,"field":"inner_ptr"},` +
	`{"type":"array","items":{"type":"struct","fields":[{"type":"string","optional":false,"field":"name"},{"type":"int16","optional":true,"field":"n"}],"optional":false},"optional":false,"field":"items"},` +
	`{"type":"string","optional":false,"field":"Untagged"}],` +
	`"optional":false,"name":"com.example.Everything"},` +
	`"payload":{"i8":-8,"i16":1600,"i":-64,"f32":0.25,"f64":1.0E-7,"b":true,"s":"ß\"","raw":"aGk=",` +
	`"d":19723,"t":3600000,"price":"BNI=","opt":7,"opt_zero":null,"tags":["x","y"],"attrs":{"a":1,"b":2},` +
	`"by_id":[[-1,"minus"],[2,"two"]],"inner":{"name":"in","n":null},"inner_ptr":null,` +
	`"items":[{"name":"i0","n":3}],"Untagged":"u"}}`

func sampleEverything() everything {
	seven := int32(7)
	return everything{
		I8: -8, I16: 1600, I: -64, F32: 0.25, F64: 1e-7, B: true, S: "ß\"", Raw: []byte("hi"),
		D:     time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		T:     time.Date(1970, 1, 1, 1, 0, 0, 0, time.UTC),
		Price: envelope.Decimal{Unscaled: big.NewInt(1234), Scale: 2},
		Opt:   &seven, Tags: []string{"x", "y"},
		Attrs:    map[string]int32{"b": 2, "a": 1},
		ByID:     map[int64]string{2: "two", -1: "minus"},
		Inner:    inner{Name: "in"},
		Items:    []inner{{Name: "i0", N: 3}},
		Untagged: "u",
	}
}

// TestCodecEveryKind covers every Go kind the tags map, checked by hand.
func TestCodecEveryKind(t *testing.T) {
	c, err := envelope.NewCodec[everything]("com.example.Everything")
	if err != nil {
		t.Fatal(err)
	}
	v := sampleEverything()
	got, err := c.Encode(&v)
	if err != nil {
		t.Fatal(err)
	}
	want := everythingJSON
	if string(got) != want {
		t.Fatalf("Encode:\n got %s\nwant %s", got, want)
	}
	var back everything
	back.Skip = "kept"
	if err := c.Decode(got, &back); err != nil {
		t.Fatal(err)
	}
	v.Skip = "kept"
	if back.Price.Unscaled.Cmp(v.Price.Unscaled) != 0 {
		t.Fatalf("price %v", back.Price)
	}
	back.Price, v.Price = envelope.Decimal{}, envelope.Decimal{}
	if !reflect.DeepEqual(back, v) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, v)
	}
	// The generic side agrees with the typed side, and re-encodes the same bytes.
	schema, value, err := envelope.Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	again, err := envelope.Encode(schema, value)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != want {
		t.Fatalf("generic re-encode:\n got %s\nwant %s", again, want)
	}
}

func TestCodecNilValues(t *testing.T) {
	c, err := envelope.NewCodec[everything]("")
	if err != nil {
		t.Fatal(err)
	}
	var zero everything
	zero.Price = envelope.Decimal{Unscaled: new(big.Int), Scale: 2}
	zero.D = time.Unix(0, 0)
	b, err := c.Encode(&zero)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"tags":[]`, `"attrs":{}`, `"by_id":[]`, `"items":[]`, `"opt":null`, `"opt_zero":null`, `"raw":""`, `"d":0`, `"t":0`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s not in %s", want, b)
		}
	}
	if _, err := c.Encode(nil); !errors.Is(err, envelope.ErrNull) {
		t.Errorf("Encode(nil) = %v, want ErrNull", err)
	}
	// A decimal with a nil value or another scale is an error, not a panic.
	zero.Price = envelope.Decimal{}
	if _, err := c.Encode(&zero); !errors.Is(err, envelope.ErrNull) {
		t.Errorf("nil decimal: %v", err)
	}
	zero.Price = envelope.Decimal{Unscaled: big.NewInt(1), Scale: 3}
	if _, err := c.Encode(&zero); !errors.Is(err, envelope.ErrType) {
		t.Errorf("decimal scale: %v", err)
	}
}

func TestNewCodecErrors(t *testing.T) {
	type node struct {
		Next *node `connect:"next"`
	}
	cases := []struct {
		name string
		new  func() error
	}{
		{"time without a logical option", func() error {
			_, err := envelope.NewCodec[struct{ T time.Time }]("")
			return err
		}},
		{"unsigned integer", func() error {
			_, err := envelope.NewCodec[struct{ U uint32 }]("")
			return err
		}},
		{"channel", func() error {
			_, err := envelope.NewCodec[struct{ C chan int }]("")
			return err
		}},
		{"recursive type", func() error {
			_, err := envelope.NewCodec[node]("")
			return err
		}},
		{"unknown option", func() error {
			_, err := envelope.NewCodec[struct {
				S string `connect:"s,omitempty"`
			}]("")
			return err
		}},
		{"option on the wrong type", func() error {
			_, err := envelope.NewCodec[struct {
				N int64 `connect:"n,timestamp"`
			}]("")
			return err
		}},
		{"decimal without scale", func() error {
			_, err := envelope.NewCodec[struct{ D envelope.Decimal }]("")
			return err
		}},
		{"two fields with one name", func() error {
			_, err := envelope.NewCodec[struct {
				A string `connect:"x"`
				B string `connect:"x"`
			}]("")
			return err
		}},
		{"not a struct", func() error {
			_, err := envelope.NewCodec[int]("")
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.new(); !errors.Is(err, envelope.ErrSchema) {
				t.Fatalf("got %v, want ErrSchema", err)
			}
		})
	}
}

// A Codec is built once and shared; Encode and Decode are safe concurrently.
func TestCodecConcurrent(t *testing.T) {
	c := orderCodec()
	done := make(chan error)
	for g := range 4 {
		go func() {
			for i := range 200 {
				o := sampleOrder()
				o.Qty = int32(g*1000 + i)
				b, err := c.Encode(&o)
				if err != nil {
					done <- err
					return
				}
				var back order.Order
				if err := c.Decode(b, &back); err != nil || back != o {
					done <- errors.New("round trip mismatch")
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// The schema is marshalled once per codec: appending a record to a buffer
// with room allocates nothing, and decoding allocates only the strings it
// returns (order_id, user_id, product_id, status) and its scanner.
func TestCodecAllocs(t *testing.T) {
	c := orderCodec()
	o := sampleOrder()
	buf := make([]byte, 0, 2048)
	if n := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = c.Append(buf[:0], &o); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Append allocates %v times per record, want 0", n)
	}
	data := []byte(orderJSON)
	var back order.Order
	if n := testing.AllocsPerRun(100, func() {
		if err := c.Decode(data, &back); err != nil {
			t.Fatal(err)
		}
	}); n > 5 {
		t.Errorf("Decode allocates %v times per record, want at most 5", n)
	}
}

// TestLazyCodec: a codec of LazyCodec writes what NewCodec's writes once used, Build
// reports the error NewCodec would return, and a lazy codec of a type NewCodec refuses
// panics on first use.
func TestLazyCodec(t *testing.T) {
	lazy := envelope.LazyCodec[order.Order]("orders")
	o := sampleOrder()
	got, err := lazy.Encode(&o)
	if err != nil {
		t.Fatal(err)
	}
	want, err := orderCodec().Encode(&o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("lazy codec wrote\n%s\nwant\n%s", got, want)
	}
	if err := lazy.Build(); err != nil {
		t.Errorf("Build of a built codec: %v", err)
	}

	type bad struct {
		C chan int `connect:"c"`
	}
	_, newErr := envelope.NewCodec[bad]("")
	badLazy := envelope.LazyCodec[bad]("")
	if err := badLazy.Build(); err == nil || newErr == nil || err.Error() != newErr.Error() {
		t.Errorf("Build = %v, NewCodec = %v; want the same error", err, newErr)
	}
	defer func() {
		if recover() == nil {
			t.Error("a lazy codec of a refused type did not panic on first use")
		}
	}()
	badLazy.Encode(&bad{})
}
