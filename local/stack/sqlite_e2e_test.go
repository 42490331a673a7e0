package stack_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/ordersync/ordersync/internal/testkit"
)

// TestEndToEndSQLite is `make run` on a fresh clone: no DATABASE_URL, no other step; an
// order posted over HTTP becomes a row in the embedded SQLite file.
func TestEndToEndSQLite(t *testing.T) {
	testkit.Long(t, "end-to-end test")
	st := newStack(t, "LOG_LEVEL=info", "CATALOG_FILE=")
	bin := st.bin
	// --help lists every flag and variable of the local command (README.md, Configuration).
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"-http", "-kafka", "-data", "-sink-config", "-partitions", "-concurrency", "-template", "-param",
			"-log-format", "KAFKA_BROKERS", "DATABASE_URL", "LOG_LEVEL", "broker", "sink"}},
		{[]string{"broker", "--help"}, []string{"-advertise", "-kafka", "-data", "-partitions"}},
		{[]string{"sink", "--help"}, []string{"-sink-config", "-data", "-migrate\n"}},
		{[]string{"migrate", "--help"}, []string{"-data"}},
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
	st.start()
	c := st.client()
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

	// A second stack on the same --data stops at once, naming the directory and the PID.
	second := exec.Command(bin, "--data", st.data, "--http", testkit.FreeAddr(t), "--kafka", testkit.FreeAddr(t))
	second.Dir = st.dir
	out, err := second.CombinedOutput()
	if code := second.ProcessState.ExitCode(); err == nil || code != 1 {
		t.Errorf("second stack on %s: exit %d, %v\n%s", st.data, code, err, out)
	}
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 ||
		!strings.Contains(lines[0], st.data) || !strings.Contains(lines[0], fmt.Sprintf("process %d", st.pid())) {
		t.Errorf("second stack said %q, want one line naming %s and pid %d", out, st.data, st.pid())
	}
	if code := st.interrupt(); code != 0 {
		t.Errorf("stack exited %d after SIGINT, want 0\n%s", code, st.tail())
	}
	checkLogFormat(t, st.log, a.order.OrderID)
}

// checkLogFormat: every log line is "time [component] LEVEL message key=value" (the
// banner aside); no function's JSON or Go's default log format is passed through, and a
// grep for an order id finds create-order's line about it.
func checkLogFormat(t *testing.T, file, orderID string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} \[[a-z-]+\] (DEBUG|INFO|WARN|ERROR)( |$)`)
	banner := true
	for l := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		switch {
		case l == "":
		case line.MatchString(l):
			if strings.Contains(l, `"time":`) || regexp.MustCompile(`\d{4}[-/]\d\d[-/]\d\d[T ]\d\d:\d\d`).MatchString(l) {
				t.Errorf("line with a second timestamp: %s", l)
			}
		case banner && !strings.HasPrefix(l, "{"):
			// The banner: free text between the start-up lines and the first request.
		default:
			t.Errorf("line not in the log format: %s", l)
		}
		if strings.Contains(l, "Ctrl-C stops it") {
			banner = false
		}
	}
	if !regexp.MustCompile(`\[create-order\] INFO [^\n]*order_id=` + orderID).Match(b) {
		t.Errorf("no create-order line with order_id=%s in\n%s", orderID, b)
	}
}
