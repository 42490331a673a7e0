package testkit

import (
	"database/sql"
	"testing"
)

// QueryText runs query on sqldb and returns its column names and every row, each
// column read as nullable text; an error fails the test.
func QueryText(t testing.TB, sqldb *sql.DB, query string, args ...any) (cols []string, rows [][]sql.NullString) {
	t.Helper()
	rs, err := sqldb.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if cols, err = rs.Columns(); err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, vals)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return cols, rows
}
