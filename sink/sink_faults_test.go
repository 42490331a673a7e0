package sink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/logging"
	"github.com/ordersync/ordersync/shared/order"
)

// Database faults under the sink: a TCP proxy between the sink and MariaDB cuts
// connections mid-batch, loses the answer of a COMMIT the server carried out, stalls a
// COMMIT, and plays a MariaDB restart (every connection dropped, new ones refused); a
// second connection holds a row lock past the sink's innodb_lock_wait_timeout, and makes
// the sink the victim of a deadlock. After each: the batch was retried with backoff, no
// offset was committed before its rows were (committed offsets never exceed the rows
// in the table), and every order has exactly one row.

const faultsMariaURL = "mysql://root@127.0.0.1:3306/test"

// The driver logs every connection the proxy cuts ("unexpected EOF"); those cuts are the
// point of these tests, and the sink reports what matters itself.
func init() { testkit.SilenceDriverLog() }

const faultsMariaAddr = "127.0.0.1:3306"

// newDBProxy is a proxy between the sink and MariaDB.
func newDBProxy(t *testing.T) *testkit.DBProxy {
	t.Helper()
	return testkit.NewDBProxy(t, faultsMariaAddr)
}

// mariaAdmin is a direct connection for setup and checks; the test skips (or fails
// under CI) when MariaDB is not reachable.
func mariaAdmin(t *testing.T) *db.DB {
	t.Helper()
	testkit.MariaDBURL(t) // skips with -short, and without MariaDB (fails under CI=true)
	d, err := db.Open(context.Background(), faultsMariaURL, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// faultOrder is order i, accepted: testOrder(i) with ids, users and times of its own.
func faultOrder(i int) order.Order {
	o := testOrder(i)
	o.OrderID = fmt.Sprintf("0190a3c4-0000-7000-8000-%012d", i)
	o.UserID = fmt.Sprintf("user-%d", i%13)
	o.CreatedAt = time.UnixMilli(1_795_000_000_000 + int64(i)).UTC()
	return o
}

// sinkRig is a kfake cluster holding n orders on a topic, a table, and
// the connector config of a sink between them.
type sinkRig struct {
	admin   *sql.DB
	table   string
	topic   string
	n       int
	brokers []string
	cfg     Config
	adm     *kadm.Client
	cluster *kfake.Cluster
}

func newSinkRig(t *testing.T, n int, partitions int32, extra ...string) *sinkRig {
	t.Helper()
	return newSinkRigWith(t, n, partitions, []kfake.Opt{kfake.NumBrokers(1)}, extra...)
}

// newSinkRigWith is newSinkRig on a cluster built with opts.
func newSinkRigWith(t *testing.T, n int, partitions int32, opts []kfake.Opt, extra ...string) *sinkRig {
	t.Helper()
	admin := mariaAdmin(t)
	r := &sinkRig{admin: admin.SQL, table: unique("orders_faults"), topic: unique("orders"), n: n}
	createOrdersTable(t, admin, r.table)
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.SeedTopics(partitions, r.topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	r.cluster = c
	r.brokers = c.ListenAddrs()
	r.adm = kadm.NewClient(mustClient(t, r.brokers))
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = orderRecord(t, r.topic, faultOrder(i))
	}
	produce(t, r.brokers, recs...)
	r.cfg = testConfig(t, unique("faults-sink"), append([]string{
		"topics", r.topic, "table.name.format", r.table,
		"insert.mode", "upsert", "pk.mode", "record_value", "pk.fields", "order_id",
		"auto.create", "false", "auto.evolve", "false",
		"batch.size", "100", "consumer.override.max.poll.records", "100",
		"max.retries", "30", "retry.backoff.ms", "50",
		"errors.tolerance", "all", "errors.log.enable", "true",
		"errors.deadletterqueue.topic.name", r.topic + ".dlq",
		"errors.deadletterqueue.context.headers.enable", "true",
	}, extra...)...)
	return r
}

// start runs a sink writing through databaseURL (the proxy, or MariaDB itself).
func (r *sinkRig) start(t *testing.T, databaseURL string) *running {
	t.Helper()
	d, err := db.Open(context.Background(), databaseURL, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	s := newSink(t, r.cfg, d, r.brokers, kgo.FetchMaxWait(50*time.Millisecond))
	s.Progress = -1
	s.Logger = slog.New(logging.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		s.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return runSink(t, s)
}

// rows returns the table's row count and distinct order ids.
func (r *sinkRig) rows(t *testing.T) (rows, distinct int) {
	t.Helper()
	if err := r.admin.QueryRow("SELECT COUNT(*), COUNT(DISTINCT order_id) FROM `"+r.table+"`").Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	return rows, distinct
}

// committed is the sum of the group's committed offsets on the topic.
func (r *sinkRig) committed(t *testing.T) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offs, err := r.adm.FetchOffsets(ctx, r.cfg.Group)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == r.topic && o.Err == nil && o.At > 0 {
			sum += o.At
		}
	})
	return sum
}

// checkNoCommitAhead: no offset is committed for a record whose row is not committed.
// Every record is a distinct order, so committed offsets can never exceed the rows.
func (r *sinkRig) checkNoCommitAhead(t *testing.T, when string) {
	t.Helper()
	c := r.committed(t)
	rows, _ := r.rows(t)
	if c > int64(rows) {
		t.Errorf("%s: offsets committed for %d records, but only %d rows are in the table", when, c, rows)
	}
	t.Logf("%s: %d offsets committed, %d rows", when, c, rows)
}

// checkExact: every order has exactly one row, and every offset is committed.
func (r *sinkRig) checkExact(t *testing.T) {
	t.Helper()
	rows, distinct := r.rows(t)
	if rows != r.n || distinct != r.n {
		t.Errorf("%d rows, %d distinct orders; want %d of each (lost %d, doubled %d)", rows, distinct, r.n, r.n-distinct, rows-distinct)
	}
	if c := r.committed(t); c != int64(r.n) {
		t.Errorf("%d offsets committed, want %d", c, r.n)
	}
}

// holder is another transaction on a connection of its own, rolled back when the test
// ends.
func (r *sinkRig) holder(t *testing.T) *sql.Tx {
	t.Helper()
	ctx := context.Background()
	conn, err := r.admin.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	return tx
}

// hold writes, in tx, a row of its own for orderID: tx holds that row's lock.
func (r *sinkRig) hold(tx *sql.Tx, orderID string) error {
	_, err := tx.Exec("INSERT INTO `"+r.table+"` (order_id, user_id, product_id, qty, unit_price, total_price, status, created_at) VALUES (?, 'holder', 'LOCK', 1, 1, 1, 'ACCEPTED', NOW())", orderID)
	return err
}

// downMidBatch starts a sink through a proxy and, as its first INSERT executes, plays a
// database restart: every connection dropped, new ones refused until p.Up.
func (r *sinkRig) downMidBatch(t *testing.T) (p *testkit.DBProxy, rs *running) {
	t.Helper()
	p = newDBProxy(t)
	rule := p.Add(testkit.Command(testkit.ComStmtExecute, ""), testkit.Stall, 1)
	rs = r.start(t, p.URL(faultsMariaURL))
	waitHit(t, rs, rule, "an INSERT")
	p.Restart()
	rule.Release()
	return p, rs
}

// waitHit waits for the rule's next hit, failing if the sink stops first.
func waitHit(t *testing.T, rs *running, r *testkit.ProxyRule, what string) {
	t.Helper()
	select {
	case <-r.Hits():
	case err := <-rs.done:
		rs.done <- err
		t.Fatalf("sink stopped before %s: %v", what, err)
	case <-time.After(2 * time.Minute):
		t.Fatalf("no %s within the liveness bound", what)
	}
}

// TestSinkConnectionCuts: the connection is cut as the batch's INSERT is prepared, as it
// executes, and just before its COMMIT; the answer of a COMMIT the server carried out is
// lost. Each time the batch is retried whole after the backoff and every order ends
// with exactly one row.
func TestSinkConnectionCuts(t *testing.T) {
	tests := []struct {
		name   string
		match  func([]byte) bool
		action testkit.ProxyAction
	}{
		{"cut at prepare", testkit.Command(testkit.ComStmtPrepare, "INSERT"), testkit.CutBefore},
		{"cut at an execute", testkit.Command(testkit.ComStmtExecute, ""), testkit.CutBefore},
		{"cut before commit", testkit.Command(testkit.ComQuery, "COMMIT"), testkit.CutBefore},
		{"commit answer lost", testkit.Command(testkit.ComQuery, "COMMIT"), testkit.CutAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newSinkRig(t, 500, 2)
			p := newDBProxy(t)
			rule := p.Add(tt.match, tt.action, 3) // three attempts in a row
			rs := r.start(t, p.URL(faultsMariaURL))
			rs.until(t, "every record", func() bool { return rs.Stats().Records == int64(r.n) })
			if rule.Count() != 3 {
				t.Errorf("fault hit %d times, want 3", rule.Count())
			}
			st := rs.Stats()
			if st.Retries < 3 || st.DeadLettered != 0 {
				t.Errorf("stats %+v: want at least 3 retries and nothing dead-lettered", st)
			}
			t.Logf("stats %+v, %d connections through the proxy", st, p.Accepted())
			r.checkExact(t)
		})
	}
}

// TestSinkCommitStalled: while the database holds a batch's COMMIT, nothing of that
// batch is visible and no offset of it is committed; once the COMMIT goes through, both
// are.
func TestSinkCommitStalled(t *testing.T) {
	r := newSinkRig(t, 300, 2)
	p := newDBProxy(t)
	rule := p.Add(testkit.Command(testkit.ComQuery, "COMMIT"), testkit.Stall, 1)
	rs := r.start(t, p.URL(faultsMariaURL))
	for i := range 3 {
		waitHit(t, rs, rule, "a COMMIT")
		r.checkNoCommitAhead(t, fmt.Sprintf("COMMIT %d stalled", i+1))
		rows, _ := r.rows(t)
		if c := r.committed(t); c != int64(rows) {
			t.Errorf("with COMMIT %d stalled: %d offsets committed, %d rows; want them equal", i+1, c, rows)
		}
		held := rule
		if i < 2 {
			rule = p.Add(testkit.Command(testkit.ComQuery, "COMMIT"), testkit.Stall, 1) // the next COMMIT stalls in turn
		}
		held.Release()
	}
	rs.until(t, "every record", func() bool { return rs.Stats().Records == int64(r.n) })
	r.checkExact(t)
}

// TestSinkDatabaseRestart: mid-batch, MariaDB "restarts": every connection drops and new
// ones are refused. The sink retries with backoff without committing offsets; when the
// database is back it carries on, and every order has one row.
func TestSinkDatabaseRestart(t *testing.T) {
	r := newSinkRig(t, 500, 2)
	p, rs := r.downMidBatch(t)
	before := rs.Stats().Retries
	rs.until(t, "two retries while the database is down", func() bool { return rs.Stats().Retries >= before+2 })
	r.checkNoCommitAhead(t, "database down")
	p.Up()
	rs.until(t, "every record", func() bool { return rs.Stats().Records == int64(r.n) })
	t.Logf("stats %+v", rs.Stats())
	r.checkExact(t)
}

// TestSinkDatabaseDownTooLong: the database stays away longer than max.retries allow.
// The sink stops with ErrDatabase (a failed task), having committed no offset ahead of
// the rows; a new sink started once the database is back resumes from the committed
// offsets, and every order has one row.
func TestSinkDatabaseDownTooLong(t *testing.T) {
	r := newSinkRig(t, 500, 2, "max.retries", "2", "retry.backoff.ms", "20")
	p, rs := r.downMidBatch(t)
	err := rs.wait(t)
	if !errors.Is(err, ErrDatabase) && !errors.Is(err, ErrTolerance) {
		t.Errorf("Run = %v, want a database failure", err)
	}
	if st := rs.Stats(); st.DeadLettered != 0 {
		t.Errorf("records dead-lettered while the database was down: %+v", st)
	}
	t.Logf("first sink stopped: %v", err)
	r.checkNoCommitAhead(t, "after the failed task")
	p.Up()
	again := r.start(t, p.URL(faultsMariaURL))
	again.until(t, "the rest of the records", func() bool { return r.committed(t) == int64(r.n) })
	r.checkExact(t)
}

// TestSinkConnectionLostWhileUnrolling: the connection breaks under every whole-batch
// attempt and under the first record written alone, then the database is fine again. A
// record that failed only because the connection broke is no bad record: the sink stops
// as a failed task without dead-lettering it (a ping after the failure would already find
// the database back), and a restarted sink writes every order once.
func TestSinkConnectionLostWhileUnrolling(t *testing.T) {
	r := newSinkRig(t, 200, 1, "max.retries", "1", "retry.backoff.ms", "20")
	p := newDBProxy(t)
	rule := p.Add(testkit.Command(testkit.ComStmtExecute, ""), testkit.CutBefore, 3) // more than the 2 batch attempts
	rs := r.start(t, p.URL(faultsMariaURL))
	err := rs.wait(t)
	if !errors.Is(err, ErrDatabase) {
		t.Errorf("Run = %v, want ErrDatabase", err)
	}
	if st := rs.Stats(); st.DeadLettered != 0 {
		t.Errorf("a record was dead-lettered for a lost connection: %+v", st)
	}
	if rule.Count() < 2 {
		t.Errorf("%d cut executes, want one per batch attempt", rule.Count())
	}
	r.checkNoCommitAhead(t, "after the failed task")
	again := r.start(t, p.URL(faultsMariaURL))
	again.until(t, "every record", func() bool { return r.committed(t) == int64(r.n) })
	r.checkExact(t)
}

// TestSinkLockWaitTimeout: another transaction holds a row lock on an order of the batch
// longer than the sink's innodb_lock_wait_timeout (1 s, set per session through the
// DATABASE_URL). The sink's batch fails with a lock wait timeout, is retried with
// backoff, and goes through once the lock is released.
func TestSinkLockWaitTimeout(t *testing.T) {
	r := newSinkRig(t, 300, 2)
	tx := r.holder(t)
	locked := faultOrder(150)
	if err := r.hold(tx, locked.OrderID); err != nil {
		t.Fatal(err)
	}
	rs := r.start(t, strings.Replace(faultsMariaURL, "/test", "/test?innodb_lock_wait_timeout=1", 1))
	rs.until(t, "a retry after the lock wait timeout", func() bool { return rs.Stats().Retries >= 1 })
	r.checkNoCommitAhead(t, "lock held")
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	rs.until(t, "every record", func() bool { return rs.Stats().Records == int64(r.n) })
	var user string
	if err := r.admin.QueryRow("SELECT user_id FROM `"+r.table+"` WHERE order_id = ?", locked.OrderID).Scan(&user); err != nil || user != locked.UserID {
		t.Errorf("locked order's row: user %q, %v; want the sink's row", user, err)
	}
	t.Logf("stats %+v", rs.Stats())
	r.checkExact(t)
}

// TestSinkDeadlockVictim: another transaction, heavier than the sink's, waits for a row
// the sink has just written while the sink waits for a row it holds: InnoDB breaks the
// deadlock by rolling back the sink's transaction (error 1213). The batch is retried and
// every order has one row.
func TestSinkDeadlockVictim(t *testing.T) {
	// One partition and one batch: the sink writes the orders in offset order, so when it
	// waits for order 200 it already holds order 10.
	r := newSinkRig(t, 300, 1, "batch.size", "300", "consumer.override.max.poll.records", "300")
	tx := r.holder(t)
	// Weight: many rows written by the other transaction make the sink's the cheaper victim.
	for i := range 20 {
		var vals []string
		for j := range 100 {
			vals = append(vals, fmt.Sprintf("('%s', 'holder', 'W', 1, 1, 1, 'ACCEPTED', NOW())", fmt.Sprintf("ffffffff-0000-7000-8000-%012d", i*100+j)))
		}
		if _, err := tx.Exec("INSERT INTO `" + r.table + "` (order_id, user_id, product_id, qty, unit_price, total_price, status, created_at) VALUES " + strings.Join(vals, ",")); err != nil {
			t.Fatal(err)
		}
	}
	blocker := faultOrder(200)
	if err := r.hold(tx, blocker.OrderID); err != nil {
		t.Fatal(err)
	}
	rs := r.start(t, faultsMariaURL)
	// Wait until the sink's transaction waits for the blocker's lock: InnoDB lists it as
	// LOCK WAIT, or the process list shows its INSERT still running after half a second
	// (a 300-row insert takes milliseconds unless it waits).
	rs.until(t, "the sink waiting for the lock", func() bool {
		var n int
		if err := r.admin.QueryRow("SELECT (SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT') + "+
			"(SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE CONCAT('INSERT INTO%', ?, '%') AND TIME_MS > 500)", r.table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
	// Now ask for a row the sink already wrote in its open transaction: a deadlock.
	early := faultOrder(10)
	err := r.hold(tx, early.OrderID)
	t.Logf("the other transaction's insert of a row the sink holds: %v", err)
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		t.Fatal(err)
	}
	rs.until(t, "every record", func() bool { return rs.Stats().Records == int64(r.n) })
	st := rs.Stats()
	t.Logf("stats %+v", st)
	if err == nil && st.Retries == 0 {
		t.Error("no deadlock: the other transaction got the row and the sink was not retried")
	}
	r.checkExact(t)
}

// TestSinkBrokerRestart: the broker stops while a batch's COMMIT is in the database and
// starts again on the same port from its data directory (kfake.DataDir). The rows of the
// batch are committed; its offsets are committed late or, if the sink gives up first,
// not at all, and a new sink resumes from the committed offsets — not from the start —
// replaying at most what was not committed. Every order has one row.
func TestSinkBrokerRestart(t *testing.T) {
	port := testkit.FreePort(t)
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port), kfake.DataDir(t.TempDir()), kfake.SyncWrites()}
	r := newSinkRigWith(t, 1000, 2, opts)
	p := newDBProxy(t)
	nthCommit := func(n int64) func([]byte) bool {
		var seen atomic.Int64
		return func(b []byte) bool { return testkit.Command(testkit.ComQuery, "COMMIT")(b) && seen.Add(1) == n }
	}

	// 1. A clean stop after the second COMMIT, the broker restarted with no sink running:
	// the next sink handles exactly the records whose offsets were not committed.
	rule := p.Add(nthCommit(2), testkit.Stall, 1)
	rs := r.start(t, p.URL(faultsMariaURL))
	waitHit(t, rs, rule, "the second COMMIT")
	rs.cancel()
	rule.Release()
	if err := rs.stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}
	stopped := r.committed(t)
	r.checkNoCommitAhead(t, "sink stopped")
	r.cluster.Close()
	var err error
	if r.cluster, err = kfake.NewCluster(opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.cluster.Close)
	r.adm = kadm.NewClient(mustClient(t, r.brokers))
	if got := r.committed(t); got != stopped {
		t.Fatalf("%d offsets committed after the broker restart, %d before", got, stopped)
	}

	// 2. The broker stops while a batch's COMMIT is in the database.
	rule = p.Add(nthCommit(2), testkit.Stall, 1)
	rs = r.start(t, p.URL(faultsMariaURL))
	waitHit(t, rs, rule, "a COMMIT")
	if got := rs.Stats().Records; got < 1 || got > 100 {
		t.Errorf("the resumed sink had handled %d records at its second COMMIT, want one batch of at most 100 (resumed at the committed offsets)", got)
	}
	before := r.committed(t)
	r.checkNoCommitAhead(t, "COMMIT stalled, broker about to stop")
	r.cluster.Close()
	rule.Release()
	if r.cluster, err = kfake.NewCluster(opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.cluster.Close)
	r.adm = kadm.NewClient(mustClient(t, r.brokers))

	// The first sink either carries on once the broker is back or stops; a new one then
	// takes over from the committed offsets.
	var second *running
	deadline := time.Now().Add(2 * time.Minute)
	for r.committed(t) != int64(r.n) {
		select {
		case err := <-rs.done:
			rs.done <- err
			if second == nil {
				t.Logf("first sink stopped: %v; %d offsets committed", err, r.committed(t))
				r.checkNoCommitAhead(t, "after the first sink stopped")
				second = r.start(t, p.URL(faultsMariaURL))
			}
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("offsets not all committed within the liveness bound (first sink %+v)", rs.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if second != nil {
		if got, most := second.Stats().Records, int64(r.n)-before; got > most {
			t.Errorf("the new sink handled %d records; resuming from the committed offsets it handles at most %d", got, most)
		}
		t.Logf("first sink %+v, second %+v", rs.Stats(), second.Stats())
	} else {
		t.Logf("the sink carried on through the restart: %+v", rs.Stats())
	}
	r.checkExact(t)
}

func mustClient(t *testing.T, brokers []string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}
