package scratchdb_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/scratchdb"
	"github.com/ordersync/ordersync/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// TestCreateDrop: Create makes a database named after its purpose, Drop removes it,
// and a second Drop of the same name is not an error.
func TestCreateDrop(t *testing.T) {
	admin := testkit.MariaDB(t, "scratchdb").SQL
	ctx := context.Background()
	name, err := scratchdb.Create(ctx, admin, "Scratch Test!")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, "ordersync_scratch_test__") {
		t.Errorf("name %q, want ordersync_scratch_test__<hex>", name)
	}
	exists := func() bool {
		var got string
		err := admin.QueryRowContext(ctx, "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&got)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		return err == nil
	}
	if !exists() {
		t.Fatalf("%s was not created", name)
	}
	for range 2 {
		if err := scratchdb.Drop(ctx, admin, name); err != nil {
			t.Fatal(err)
		}
	}
	if exists() {
		t.Fatalf("%s is still there", name)
	}
}
