package stack_test

import (
	"database/sql"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestEndToEndSQLite is `make run` on a fresh clone: no DATABASE_URL, no other step; an
// order posted over HTTP becomes a row in the embedded SQLite file.
func TestEndToEndSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	bin := buildLocal(t, root)
	// --help lists every flag and variable of the local command (README.md, Configuration).
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"-http", "-kafka", "-data", "-sink-config", "-partitions", "-concurrency", "-template", "-param",
			"KAFKA_BROKERS", "DATABASE_URL", "LOG_LEVEL", "broker", "sink"}},
		{[]string{"broker", "--help"}, []string{"-advertise", "-kafka", "-data", "-partitions"}},
	} {
		out, err := exec.Command(bin, tc.args...).CombinedOutput()
		if err != nil {
			t.Errorf("%v: %v\n%s", tc.args, err, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%v does not mention %s:\n%s", tc.args, w, out)
			}
		}
	}
	st := &stackProc{
		t: t, bin: bin, dir: root, log: filepath.Join(work, "stack.log"),
		http: freeAddr(t), kafka: freeAddr(t), data: filepath.Join(work, "data"),
		env: []string{"LOG_LEVEL=warn", "CATALOG_FILE="},
	}
	st.start()
	t.Cleanup(st.kill)
	c := &client{base: "http://" + st.http, http: &http.Client{Timeout: 30 * time.Second}}
	a := c.post(t, "u-1", "", `{"productId":"CATALOG-0001","qty":5,"unitPrice":1200}`)
	if a.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", a.status, a.body)
	}
	file := filepath.Join(st.data, "ordersync.db")
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitRows(t, db, "orders", []string{a.order.OrderID})
	if code := st.interrupt(); code != 0 {
		t.Errorf("stack exited %d after SIGINT, want 0\n%s", code, st.tail())
	}
}
