package stack

import (
	"slices"
	"testing"

	"github.com/ordersync/ordersync/local/samtemplate"
	"github.com/ordersync/ordersync/shared/db"
)

// TestDatabaseReader: a function whose template declares DATABASE_URL reads the stack's
// database: the SQLite file through a sqlite-tagged build, or DATABASE_URL; its AWS
// endpoint is dropped. Other functions are left as they are.
func TestDatabaseReader(t *testing.T) {
	reader := func() *function {
		return &function{
			tf:  samtemplate.Function{Environment: map[string]string{"DATABASE_URL": "", "DB_ENDPOINT": ""}},
			env: []string{"DATABASE_URL=", "DB_AUTH=iam", "DB_ENDPOINT=db.example:3306", "LOG_LEVEL=info"},
		}
	}
	fn := reader()
	databaseReader(fn, "", &db.DB{Dialect: db.SQLite, Where: "/data/ordersync.db"})
	if want := []string{"DB_AUTH=iam", "LOG_LEVEL=info", "DATABASE_FILE=/data/ordersync.db"}; !slices.Equal(fn.env, want) || !slices.Equal(fn.tags, []string{"sqlite"}) {
		t.Errorf("SQLite: env %q tags %q", fn.env, fn.tags)
	}
	fn = reader()
	databaseReader(fn, "mysql://root@127.0.0.1:3306/x", &db.DB{Dialect: db.MySQL})
	if want := []string{"DB_AUTH=iam", "LOG_LEVEL=info", "DATABASE_URL=mysql://root@127.0.0.1:3306/x"}; !slices.Equal(fn.env, want) || fn.tags != nil {
		t.Errorf("MariaDB: env %q tags %q", fn.env, fn.tags)
	}
	other := &function{tf: samtemplate.Function{Environment: map[string]string{"LOG_LEVEL": ""}}, env: []string{"LOG_LEVEL=info"}}
	databaseReader(other, "", &db.DB{Dialect: db.SQLite, Where: "/data/ordersync.db"})
	if !slices.Equal(other.env, []string{"LOG_LEVEL=info"}) || other.tags != nil {
		t.Errorf("a function that reads no database: env %q tags %q", other.env, other.tags)
	}
}
