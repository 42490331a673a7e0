package envelope_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/envelope"
)

// walk reads any document with Object, Array, Null, Text, Int and SignedBytes, and
// writes down what it read: "sb" names a member read with SignedBytes, "i" one read with
// Int(Int64), "peek" one only peeked at (left to be skipped), "skip" one not touched.
func walk(doc string) (string, error) {
	var out strings.Builder
	var value func(name string, v *envelope.Value) error
	value = func(name string, v *envelope.Value) error {
		switch {
		case name == "skip":
			return nil
		case name == "peek":
			v.Kind()
			return nil
		case name == "sb":
			b, err := v.SignedBytes(nil)
			fmt.Fprintf(&out, "%v ", b)
			return err
		case name == "i":
			n, err := v.Int(envelope.Int64)
			fmt.Fprintf(&out, "%d ", n)
			return err
		}
		if null, err := v.Null(); null || err != nil {
			out.WriteString("null ")
			return err
		}
		switch v.Kind() {
		case '{':
			out.WriteString("{ ")
			err := v.Object(func(name []byte, v *envelope.Value) error {
				fmt.Fprintf(&out, "%s: ", name)
				return value(string(name), v)
			})
			out.WriteString("} ")
			return err
		case '[':
			out.WriteString("[ ")
			err := v.Array(func(v *envelope.Value) error { return value("", v) })
			out.WriteString("] ")
			return err
		case '"':
			s, err := v.Text()
			fmt.Fprintf(&out, "%q ", s)
			return err
		}
		return v.Skip()
	}
	err := envelope.ReadObject([]byte(doc), func(name []byte, v *envelope.Value) error {
		fmt.Fprintf(&out, "%s: ", name)
		return value(string(name), v)
	})
	return strings.TrimSpace(out.String()), err
}

// TestValueNested: nested objects and arrays are read member by member and element by
// element; a value left unread, or only peeked at (white space before it included), is
// skipped.
func TestValueNested(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"a":{"b":["x",{"c":null}],"d":[]},"e":{}}`, `a: { b: [ "x" { c: null } ] d: [ ] } e: { }`},
		{`{"skip":{"x":[1,{"y":2}]},"a":"z"}`, `skip: a: "z"`},
		{`{"o":{"peek": [1, 2] ,"a":"z"}}`, `o: { peek: a: "z" }`},
		{`{"o":[ {"skip": "s"} , {"peek":	{"k":1}}, "t" ]}`, `o: [ { skip: } { peek: } "t" ]`},
		{`{"i":-9223372036854775808,"o":{"i":42}}`, `i: -9223372036854775808 o: { i: 42 }`},
		{`{"sb":[],"o":{"sb":[ 0 , -0 , 1 , -1 , 127 , -128 , 99 , -10 ]}}`, `sb: [] o: { sb: [0 0 1 255 127 128 99 246] }`},
	} {
		got, err := walk(tc.doc)
		if err != nil || got != tc.want {
			t.Errorf("%s:\n got %s, %v\nwant %s", tc.doc, got, err, tc.want)
		}
	}
}

// TestValueNestedErrors: every error of the syntax layer holds inside nested values,
// those skipped included; SignedBytes refuses what is not a byte.
func TestValueNestedErrors(t *testing.T) {
	deep := `{"a":` + strings.Repeat(`{"a":`, 600) + `1` + strings.Repeat(`}`, 601)
	deepSkipped := `{"skip":` + strings.Repeat(`[`, 600) + strings.Repeat(`]`, 600) + `}`
	for _, tc := range []struct {
		doc  string
		want error
	}{
		{`{"a":{"b":1,"b":2}}`, envelope.ErrDuplicateKey},
		{`{"skip":{"b":1,"b":2}}`, envelope.ErrDuplicateKey},
		{`{"peek":[1,]}`, envelope.ErrSyntax},
		{`{"a":[1 2]}`, envelope.ErrSyntax},
		{`{"a":{"b" 1}}`, envelope.ErrSyntax},
		{`{"a":["\xff"]}`, envelope.ErrSyntax},
		{deep, envelope.ErrSyntax},
		{deepSkipped, envelope.ErrSyntax},
		{`{"i":1.5}`, envelope.ErrType},
		{`{"i":"1"}`, envelope.ErrType},
		{`{"i":9223372036854775808}`, envelope.ErrRange},
		{`{"sb":{}}`, envelope.ErrType},
		{`{"sb":null}`, envelope.ErrType},
		{`{"sb":[128]}`, envelope.ErrRange},
		{`{"sb":[-129]}`, envelope.ErrRange},
		{`{"sb":[1000]}`, envelope.ErrRange},
		{`{"sb":[1.0]}`, envelope.ErrType},
		{`{"sb":[1e2]}`, envelope.ErrType},
		{`{"sb":[01]}`, envelope.ErrSyntax},
		{`{"sb":[-]}`, envelope.ErrSyntax},
		{`{"sb":["1"]}`, envelope.ErrType},
		{`{"sb":[1,]}`, envelope.ErrSyntax},
		{`{"sb":[1`, envelope.ErrSyntax},
	} {
		if got, err := walk(tc.doc); !errors.Is(err, tc.want) {
			t.Errorf("%.60s: %s, %v; want %v", tc.doc, got, err, tc.want)
		}
	}
}

// TestSetters: SetText, SetInt and SetBool read a value into their field and leave it
// as it is for null, as encoding/json does; another kind of value is ErrType.
func TestSetters(t *testing.T) {
	s, n, b := "kept", int64(7), true
	err := envelope.ReadObject([]byte(`{"s":null,"n":null,"b":null}`), func(name []byte, v *envelope.Value) error {
		switch string(name) {
		case "s":
			return v.SetText(&s)
		case "n":
			return v.SetInt(envelope.Int64, &n)
		}
		return v.SetBool(&b)
	})
	if err != nil || s != "kept" || n != 7 || !b {
		t.Errorf("null: %q %d %v %v", s, n, b, err)
	}
	err = envelope.ReadObject([]byte(`{"s":"x\n","n":-3,"b":false}`), func(name []byte, v *envelope.Value) error {
		switch string(name) {
		case "s":
			return v.SetText(&s)
		case "n":
			return v.SetInt(envelope.Int8, &n)
		}
		return v.SetBool(&b)
	})
	if err != nil || s != "x\n" || n != -3 || b {
		t.Errorf("values: %q %d %v %v", s, n, b, err)
	}
	for i, tc := range []struct {
		doc string
		set func(v *envelope.Value) error
	}{
		{`{"v":1}`, func(v *envelope.Value) error { return v.SetText(&s) }},
		{`{"v":"1"}`, func(v *envelope.Value) error { return v.SetInt(envelope.Int64, &n) }},
		{`{"v":1}`, func(v *envelope.Value) error { return v.SetBool(&b) }},
		{`{"v":"true"}`, func(v *envelope.Value) error { return v.SetBool(&b) }},
	} {
		if err := envelope.ReadObject([]byte(tc.doc), func(_ []byte, v *envelope.Value) error { return tc.set(v) }); !errors.Is(err, envelope.ErrType) {
			t.Errorf("%d %s: %v, want ErrType", i, tc.doc, err)
		}
	}
}

// TestAppendText: strings are appended to the buffer as Text reads them, escapes
// decoded; anything but a string (null included) is ErrType and leaves it as it was.
func TestAppendText(t *testing.T) {
	buf := []byte("kept:")
	err := envelope.ReadObject([]byte(`{"a":"plain","b":"t\u00e9\n\"x\"","c":""}`), func(_ []byte, v *envelope.Value) error {
		var err error
		buf, err = v.AppendText(buf)
		return err
	})
	if want := "kept:plaint\u00e9\n\"x\""; err != nil || string(buf) != want {
		t.Errorf("got %q, %v; want %q", buf, err, want)
	}
	for _, doc := range []string{`{"v":1}`, `{"v":null}`, `{"v":["s"]}`} {
		buf := []byte("kept")
		err := envelope.ReadObject([]byte(doc), func(_ []byte, v *envelope.Value) error {
			var err error
			buf, err = v.AppendText(buf)
			return err
		})
		if !errors.Is(err, envelope.ErrType) || string(buf) != "kept" {
			t.Errorf("%s: %q, %v; want ErrType and the buffer as it was", doc, buf, err)
		}
	}
	if err := envelope.ReadObject([]byte(`{"v":"bad \x escape"}`), func(_ []byte, v *envelope.Value) error {
		_, err := v.AppendText(nil)
		return err
	}); err == nil {
		t.Error("a bad escape was read")
	}
}

// TestMemberName matches as encoding/json matches members to fields: exactly first,
// then ignoring case, Unicode folding included (K is the Kelvin sign).
func TestMemberName(t *testing.T) {
	names := []string{"key", "Key", "records"}
	for name, want := range map[string]string{
		"key": "key", "Key": "Key", "KEY": "key", "\u212aey": "key", "records": "records", "reCords": "records", "record": "", "": "",
	} {
		if got := envelope.MemberName([]byte(name), names); got != want {
			t.Errorf("MemberName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestSignedBytesAgreesWithEncodingJSON: SignedBytes reads an array of numbers as
// encoding/json reads it into []int8, for every number near the range in every form,
// alone and among others: the same bytes, or an error from both.
func TestSignedBytesAgreesWithEncodingJSON(t *testing.T) {
	for n := -1100; n <= 1100; n++ {
		for _, form := range []string{"%d", " %d ", "%d.0", "%de0", "%dE1", "0%d", "-%d", "%d-", "%d.", "1,%d,-1", "%d,%d", "%d ,%d", "%d, %d"} {
			doc := `{"sb":[` + strings.ReplaceAll(form, "%d", fmt.Sprint(n)) + `]}`
			var want struct{ Sb []int8 }
			werr := json.Unmarshal([]byte(doc), &want)
			var got []byte
			err := envelope.ReadObject([]byte(doc), func(_ []byte, v *envelope.Value) (err error) {
				got, err = v.SignedBytes(nil)
				return err
			})
			if (err != nil) != (werr != nil) {
				t.Fatalf("%s: SignedBytes %v, encoding/json %v", doc, err, werr)
			}
			if err != nil {
				continue
			}
			if len(got) != len(want.Sb) {
				t.Fatalf("%s: %v, want %v", doc, got, want.Sb)
			}
			for i := range got {
				if int8(got[i]) != want.Sb[i] {
					t.Fatalf("%s: %v, want %v", doc, got, want.Sb)
				}
			}
		}
	}
}
