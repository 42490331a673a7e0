package testkit

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestMain(m *testing.M) { Main(m) }

// recorder is a testing.TB whose Fatalf, Errorf and Skipf only record the message.
type recorder struct {
	testing.TB
	failed, skipped string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Fatalf(f string, a ...any) { r.failed = fmt.Sprintf(f, a...) }
func (r *recorder) Errorf(f string, a ...any) { r.failed = fmt.Sprintf(f, a...) }
func (r *recorder) Skipf(f string, a ...any)  { r.skipped = fmt.Sprintf(f, a...) }

func TestGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.golden")
	if err := os.WriteFile(path, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	Golden(r, path, []byte("a\nb\nc\n"))
	if r.failed != "" {
		t.Errorf("equal bytes: %s", r.failed)
	}
	Golden(r, path, []byte("a\nB\nc\n"))
	if !strings.Contains(r.failed, "differs at line 2") || !strings.Contains(r.failed, `"B"`) {
		t.Errorf("changed line 2: %q", r.failed)
	}
	r.failed = ""
	Golden(r, path, []byte("a\nb\nc\nd\n"))
	if !strings.Contains(r.failed, "differs at line 4") {
		t.Errorf("added line 4: %q", r.failed)
	}
	r.failed = ""
	Golden(r, filepath.Join(t.TempDir(), "none.golden"), nil)
	if !strings.Contains(r.failed, "-update writes it") {
		t.Errorf("missing file: %q", r.failed)
	}
}

func TestMissing(t *testing.T) {
	for _, tc := range []struct{ ci, failed, skipped string }{
		{"true", "required under CI=true: no tool x", ""},
		{"", "", "no tool x"},
		{"false", "", "no tool x"},
	} {
		t.Setenv("CI", tc.ci)
		r := &recorder{TB: t}
		Missing(r, "no tool %s", "x")
		if r.failed != tc.failed || r.skipped != tc.skipped {
			t.Errorf("CI=%q: failed %q skipped %q, want %q %q", tc.ci, r.failed, r.skipped, tc.failed, tc.skipped)
		}
	}
}

// TestMariaDBDropped: the database is gone after its test, even when the test closes
// its own connections with defer (which once ran before the drop and made it fail
// silently) or still holds one open when it ends.
func TestMariaDBDropped(t *testing.T) {
	var name, dsn string
	t.Run("user", func(t *testing.T) {
		d := MariaDB(t, "Kit test")
		name = d.Name
		defer d.SQL.Close()
		if !strings.HasPrefix(name, "ordersync_kit_test_") || len(name) != len("ordersync_kit_test_")+12 {
			t.Errorf("name %q, want ordersync_kit_test_<12 hex>", name)
		}
		if _, err := d.SQL.Exec("CREATE TABLE t (id INT PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		own, err := sql.Open("mysql", d.DSN)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { own.Close() })
		if _, err := own.Exec("INSERT INTO t VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(d.URL, "/"+name) {
			t.Errorf("URL %q does not name the database", d.URL)
		}
		dsn = d.DSN
	})
	if name == "" {
		return // skipped
	}
	names, err := listDatabases(context.Background(), server.admin)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(names, name) {
		t.Errorf("%s still exists after its test", name)
	}
	if db, err := sql.Open("mysql", dsn); err == nil {
		defer db.Close()
		if err := db.Ping(); err == nil {
			t.Errorf("can still connect to %s", name)
		}
	}
}

// TestLeftoverDatabases: a database this process created and nobody dropped is named
// as left behind, and dropped.
func TestLeftoverDatabases(t *testing.T) {
	MariaDBURL(t)
	name := "ordersync_kit_left_" + randomHex(6)
	if _, err := server.admin.Exec("CREATE DATABASE `" + name + "`"); err != nil {
		t.Fatal(err)
	}
	server.mu.Lock()
	server.created = append(server.created, name)
	server.mu.Unlock()
	t.Cleanup(func() {
		server.mu.Lock()
		server.created = slices.DeleteFunc(server.created, func(n string) bool { return n == name })
		server.mu.Unlock()
		if err := dropDatabase(name); err != nil {
			t.Error(err)
		}
	})
	err := leftoverDatabases()
	if err == nil || !strings.Contains(err.Error(), "left 1 databases behind: ["+name+"]") {
		t.Fatalf("leftoverDatabases() = %v, want %s named", err, name)
	}
	names, err := listDatabases(context.Background(), server.admin)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(names, name) {
		t.Errorf("%s not dropped", name)
	}
	if err := leftoverDatabases(); err != nil {
		t.Errorf("nothing left, got %v", err)
	}
}

func TestFreeAddr(t *testing.T) {
	addr := FreeAddr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	ln.Close()
	if p := FreePort(t); p <= 0 {
		t.Errorf("port %d", p)
	}
}

func TestReadTopic(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "t", "empty"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i := range 30 {
		recs = append(recs, &kgo.Record{Topic: "t", Partition: int32(i % 3), Value: []byte{byte(i)}})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	got := ReadTopic(t, c.ListenAddrs(), "t")
	if len(got) != 30 {
		t.Fatalf("read %d records, want 30", len(got))
	}
	for i, r := range got {
		p, o := int32(i/10), int64(i%10)
		if r.Partition != p || r.Offset != o || r.Value[0] != byte(int(o)*3+int(p)) {
			t.Errorf("record %d: partition %d offset %d value %d", i, r.Partition, r.Offset, r.Value[0])
		}
	}
	if got := ReadTopic(t, c.ListenAddrs(), "empty"); len(got) != 0 {
		t.Errorf("empty topic: %d records", len(got))
	}
}

func TestBuild(t *testing.T) {
	bin := Build(t, "./cmd/testreport")
	if again := Build(t, "./cmd/testreport"); again != bin {
		t.Errorf("built twice: %s, %s", bin, again)
	}
	cmd := exec.Command(bin)
	cmd.Stdin = strings.NewReader(`{"Action":"pass","Package":"p","Elapsed":1}` + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok  \tp\t1.000s") {
		t.Errorf("built binary: %v\n%s", err, out)
	}
}

// TestMarkedProcesses: a process started by a test carries the run's marker and is
// found until it ends.
func TestMarkedProcesses(t *testing.T) {
	Long(t, "starts a process")
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		Missing(t, "no /proc to find processes: %v", err)
	}
	want := []byte(runEnv + "=" + os.Getenv(runEnv) + "\x00")
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// Start returns once the child has exec'd, but its /proc entry may show the new
	// environment a moment later on a busy machine.
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(marked(want), pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !slices.Contains(marked(want), pid) {
		t.Errorf("process %d not found by its marker", pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline = time.Now().Add(10 * time.Second)
	for slices.Contains(marked(want), pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if slices.Contains(marked(want), pid) {
		t.Errorf("process %d still found after it ended", pid)
	}
}

// TestBufferWrites: Writes gives back each Write as it came, and String all of them.
func TestBufferWrites(t *testing.T) {
	var b Buffer
	for _, w := range []string{"one\n", "", "two\nthree\n"} {
		fmt.Fprint(&b, w)
	}
	if got := b.Writes(); !slices.Equal(got, []string{"one\n", "", "two\nthree\n"}) || b.String() != "one\ntwo\nthree\n" {
		t.Errorf("Writes %q, String %q", got, b.String())
	}
}
