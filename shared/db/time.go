package db

import (
	"fmt"
	"time"
)

// storedTimeLayouts are the texts a DATETIME column holds in SQLite: what the sink's
// driver writes for a time.Time ("2006-01-02 15:04:05.999999999-07:00"), the same
// without a zone, and RFC 3339.
var storedTimeLayouts = []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", time.RFC3339Nano}

// ScanTime reads a DATETIME column's value as database/sql hands it to a Scanner: a
// time.Time from MySQL (Open sets parseTime), text from SQLite.
func ScanTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case string:
		return parseStoredTime(x)
	case []byte:
		return parseStoredTime(string(x))
	}
	return time.Time{}, fmt.Errorf("cannot read %T as a time", v)
}

func parseStoredTime(s string) (time.Time, error) {
	for _, layout := range storedTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a time", s)
}
