package envelope

import (
	"math"
	"testing"
)

// Expected strings are what Java's Double.toString / Float.toString (JDK 19
// and later, which Jackson calls) print for the same values.
func TestAppendFloat(t *testing.T) {
	doubles := []struct {
		in   float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{-1.5, "-1.5"},
		{0.1, "0.1"},
		{0.3, "0.3"},
		{0.30000000000000004, "0.30000000000000004"},
		{100, "100.0"},
		{123.45, "123.45"},
		{0.001, "0.001"},
		{0.002, "0.002"},
		{0.0001, "1.0E-4"},
		{1.0e-5, "1.0E-5"},
		{1.234e-32, "1.234E-32"},
		{9999999, "9999999.0"},
		{1e7, "1.0E7"},
		{1e10, "1.0E10"},
		{123456789, "1.23456789E8"},
		{2e23, "2.0E23"},
		{1e23, "1.0E23"},
		{math.MaxFloat64, "1.7976931348623157E308"},
		{math.SmallestNonzeroFloat64, "4.9E-324"},
		{math.MaxInt64, "9.223372036854776E18"},
		{2.82879384806159e17, "2.82879384806159E17"}, // JDK 18 and older print 2.82879384806159008E17
	}
	for _, tc := range doubles {
		if got := string(appendFloat(nil, tc.in, 64)); got != tc.want {
			t.Errorf("double %v: got %s, want %s", tc.in, got, tc.want)
		}
	}
	floats := []struct {
		in   float32
		want string
	}{
		{0.1, "0.1"},
		{1.1, "1.1"},
		{3.14159, "3.14159"},
		{1e10, "1.0E10"},
		{16777216, "1.6777216E7"},
		{math.MaxFloat32, "3.4028235E38"},
		{math.SmallestNonzeroFloat32, "1.4E-45"},
		{-0.001, "-0.001"},
	}
	for _, tc := range floats {
		if got := string(appendFloat(nil, float64(tc.in), 32)); got != tc.want {
			t.Errorf("float %v: got %s, want %s", tc.in, got, tc.want)
		}
	}
}

// Jackson escapes only '"', '\\' and control characters, with upper-case hex;
// encoding/json would also escape <, >, &, U+2028 and U+2029.
func TestAppendString(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "order-1", `"order-1"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"short escapes", "\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"other control characters", "\x00\x01\x1f", `"\u0000\u0001\u001F"`},
		{"html characters stay", "<a href='x'>&</a>", `"<a href='x'>&</a>"`},
		{"slash stays", "a/b", `"a/b"`},
		{"delete stays", "\x7f", "\"\x7f\""},
		{"line and paragraph separators stay", "\u2028\u2029", "\"\u2028\u2029\""},
		{"BMP characters stay", "Grüße, 東京", `"Grüße, 東京"`},
		{"outside the BMP: a surrogate pair, as Jackson writes it", "Grüße, 東京 🎉", `"Grüße, 東京 \uD83C\uDF89"`},
		{"invalid UTF-8 becomes U+FFFD", "a\xffb", "\"a\uFFFDb\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(AppendString(nil, tc.in)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
