package db

import (
	"testing"
	"time"
)

func TestScanTime(t *testing.T) {
	want := time.Date(2026, 11, 22, 9, 30, 0, 123e6, time.UTC)
	for _, v := range []any{want, "2026-11-22 09:30:00.123+00:00", []byte("2026-11-22 09:30:00.123"), "2026-11-22T09:30:00.123Z"} {
		if got, err := ScanTime(v); err != nil || !got.Equal(want) {
			t.Errorf("ScanTime(%#v) = %v, %v; want %v", v, got, err, want)
		}
	}
	for v, msg := range map[any]string{
		"yesterday": `cannot read "yesterday" as a time`,
		int64(1):    "cannot read int64 as a time",
		nil:         "cannot read <nil> as a time",
	} {
		if _, err := ScanTime(v); err == nil || err.Error() != msg {
			t.Errorf("ScanTime(%#v) = %v, want %q", v, err, msg)
		}
	}
}
