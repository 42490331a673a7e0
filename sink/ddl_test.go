package sink

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/shared/db"

	"github.com/ordersync/ordersync/shared/envelope"
	"github.com/twmb/franz-go/pkg/kgo"
)

// allTypes is a value schema with every type auto.create maps.
const allTypesSchema = `{"type":"struct","name":"all_types","optional":false,"fields":[
 {"field":"id","type":"int64","optional":false},
 {"field":"i8","type":"int8","optional":false},
 {"field":"i16","type":"int16","optional":false},
 {"field":"i32","type":"int32","optional":false},
 {"field":"i64","type":"int64","optional":false},
 {"field":"f32","type":"float","optional":false},
 {"field":"f64","type":"double","optional":false},
 {"field":"b","type":"boolean","optional":false},
 {"field":"s","type":"string","optional":true},
 {"field":"by","type":"bytes","optional":false},
 {"field":"dec","type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},
 {"field":"d","type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},
 {"field":"tm","type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1},
 {"field":"ts","type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},
 {"field":"n","type":"int32","optional":true,"default":5}]}`

const allTypesPayload = `{"id":1,"i8":-8,"i16":1600,"i32":320000,"i64":6400000000,"f32":1.5,"f64":2.25,"b":true,"s":"hello",` +
	`"by":"AQID","dec":"MDk=","d":19675,"tm":45296789,"ts":1700000000123,"n":null}`

// The CREATE TABLE the connector's MySQL dialect writes for allTypes.
const allTypesCreate = "CREATE TABLE `%s` (\n" +
	"`id` BIGINT NOT NULL,\n`i8` TINYINT NOT NULL,\n`i16` SMALLINT NOT NULL,\n`i32` INT NOT NULL,\n" +
	"`i64` BIGINT NOT NULL,\n`f32` FLOAT NOT NULL,\n`f64` DOUBLE NOT NULL,\n`b` TINYINT NOT NULL,\n" +
	"`s` TEXT NULL,\n`by` VARBINARY(1024) NOT NULL,\n`dec` DECIMAL(65,2) NOT NULL,\n`d` DATE NOT NULL,\n" +
	"`tm` TIME(3) NOT NULL,\n`ts` DATETIME(3) NOT NULL,\n`n` INT DEFAULT 5,\nPRIMARY KEY(`id`))"

func envelopeOf(schema, payload string) []byte {
	return []byte(`{"schema":` + schema + `,"payload":` + payload + `}`)
}

func mustSchema(t testing.TB, js string) *envelope.Schema {
	t.Helper()
	var s envelope.Schema
	if err := s.UnmarshalJSON([]byte(js)); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestCreateStatement(t *testing.T) {
	cfg := testConfig(t, "types", "topics", "t", "pk.mode", "record_value", "pk.fields", "id")
	l, err := newLayout(&cfg, sqlWriter{dialect: db.MySQL, quote: true}, tableID{name: "all_types"}, nil, mustSchema(t, allTypesSchema))
	if err != nil {
		t.Fatal(err)
	}
	got, err := sqlWriter{dialect: db.MySQL, quote: true}.create(l)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(allTypesCreate, "all_types"); got != want {
		t.Fatalf("CREATE =\n%s\nwant\n%s", got, want)
	}
}

// The statements of MySqlDatabaseDialectTest, plus their multi-row and SQLite forms.
func TestDMLStatements(t *testing.T) {
	schema := mustSchema(t, `{"type":"struct","fields":[{"field":"actor_id","type":"int32"},{"field":"first_name","type":"string"},{"field":"last_name","type":"string"},{"field":"score","type":"int32"}]}`)
	cfg := testConfig(t, "dml", "topics", "t", "pk.mode", "record_value", "pk.fields", "actor_id")
	l, err := newLayout(&cfg, sqlWriter{}, tableID{name: "actor"}, nil, schema)
	if err != nil {
		t.Fatal(err)
	}
	mysql, sqlite := sqlWriter{dialect: db.MySQL, quote: true}, sqlWriter{dialect: db.SQLite, quote: true}
	tests := []struct{ name, got, want string }{
		{"mysql upsert", mysql.insert(l, 1, true),
			"insert into `actor`(`actor_id`,`first_name`,`last_name`,`score`) values(?,?,?,?) on duplicate key update `first_name`=values(`first_name`),`last_name`=values(`last_name`),`score`=values(`score`)"},
		{"mysql upsert 2 rows", mysql.insert(l, 2, true),
			"insert into `actor`(`actor_id`,`first_name`,`last_name`,`score`) values(?,?,?,?),(?,?,?,?) on duplicate key update `first_name`=values(`first_name`),`last_name`=values(`last_name`),`score`=values(`score`)"},
		{"mysql insert", mysql.insert(l, 1, false),
			"INSERT INTO `actor`(`actor_id`,`first_name`,`last_name`,`score`) VALUES(?,?,?,?)"},
		{"sqlite upsert 2 rows", sqlite.insert(l, 2, true),
			"INSERT INTO `actor`(`actor_id`,`first_name`,`last_name`,`score`) VALUES(?,?,?,?),(?,?,?,?) ON CONFLICT(`actor_id`) DO UPDATE SET `first_name`=excluded.`first_name`,`last_name`=excluded.`last_name`,`score`=excluded.`score`"},
		{"update", mysql.update(l), "UPDATE `actor` SET `first_name` = ?, `last_name` = ?, `score` = ? WHERE `actor_id` = ?"},
		{"delete", mysql.delete(l), "DELETE FROM `actor` WHERE `actor_id` = ?"},
		{"unquoted", sqlWriter{dialect: db.MySQL}.insert(l, 1, false), "INSERT INTO actor(actor_id,first_name,last_name,score) VALUES(?,?,?,?)"},
	}
	onlyKey, err := newLayout(&cfg, sqlWriter{}, tableID{name: "actor"}, nil, mustSchema(t, `{"type":"struct","fields":[{"field":"actor_id","type":"int32"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests = append(tests, struct{ name, got, want string }{"mysql upsert key only", mysql.insert(onlyKey, 1, true),
		"insert into `actor`(`actor_id`) values(?) on duplicate key update `actor_id`=values(`actor_id`)"})
	alter, err := mysql.alter(tableID{name: "t"}, l.nonKey[:2])
	if err != nil {
		t.Fatal(err)
	}
	tests = append(tests, struct{ name, got, want string }{"mysql alter", alter[0], "ALTER TABLE `t` \nADD `first_name` TEXT NOT NULL,\nADD `last_name` TEXT NOT NULL"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", tt.got, tt.want)
			}
		})
	}
}

// Column types as each target reports them for allTypes after auto.create.
var allTypesColumns = map[string][]string{
	db.MySQL: {"id bigint(20) NO", "i8 tinyint(4) NO", "i16 smallint(6) NO", "i32 int(11) NO", "i64 bigint(20) NO",
		"f32 float NO", "f64 double NO", "b tinyint(4) NO", "s text YES", "by varbinary(1024) NO",
		"dec decimal(65,2) NO", "d date NO", "tm time(3) NO", "ts datetime(3) NO", "n int(11) YES"},
	db.SQLite: {"id BIGINT NO", "i8 TINYINT NO", "i16 SMALLINT NO", "i32 INT NO", "i64 BIGINT NO",
		"f32 FLOAT NO", "f64 DOUBLE NO", "b TINYINT NO", "s TEXT YES", "by VARBINARY(1024) NO",
		"dec DECIMAL(65,2) NO", "d DATE NO", "tm TIME(3) NO", "ts DATETIME(3) NO", "n INT YES"},
}

// columnTypes reads "name type nullable" per column, in table order.
func columnTypes(t testing.TB, d *db.DB, table string) []string {
	t.Helper()
	q := "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION"
	if d.Dialect == db.SQLite {
		q = `SELECT name, type, CASE WHEN "notnull" = 1 OR pk > 0 THEN 'NO' ELSE 'YES' END FROM pragma_table_info(?)`
	}
	return rowTexts(t, d, " ", q, table)
}

func TestAutoCreateMakesTheConnectorsTable(t *testing.T) {
	eachTarget(t, func(t *testing.T, d *db.DB) {
		topic, table := unique("types"), unique("all_types")
		dropLater(t, d, table)
		brokers := newCluster(t, 1, topic)
		produce(t, brokers, &kgo.Record{Topic: topic, Key: []byte("1"), Value: envelopeOf(allTypesSchema, allTypesPayload)})
		cfg := testConfig(t, "types-"+topic, "topics", topic, "table.name.format", table,
			"insert.mode", "upsert", "pk.mode", "record_value", "pk.fields", "id", "auto.create", "true")
		runRecords(t, cfg, d, brokers, 1)
		got, want := columnTypes(t, d, table), allTypesColumns[d.Dialect]
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("columns\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}

		var (
			i8, i16, i32 int
			i64          int64
			f32, f64     float64
			b            bool
			s            string
			by           []byte
			dec, day, tm string
			ts           dbTime
			n            int
		)
		err := d.SQL.QueryRow("SELECT i8, i16, i32, i64, f32, f64, b, s, `by`, CAST(`dec` AS CHAR), CAST(d AS CHAR), CAST(tm AS CHAR), ts, n FROM `"+table+"` WHERE id = 1").
			Scan(&i8, &i16, &i32, &i64, &f32, &f64, &b, &s, &by, &dec, &day, &tm, &ts, &n)
		if err != nil {
			t.Fatal(err)
		}
		if i8 != -8 || i16 != 1600 || i32 != 320000 || i64 != 6400000000 || f32 != 1.5 || f64 != 2.25 || !b || s != "hello" ||
			!bytes.Equal(by, []byte{1, 2, 3}) || dec != "123.45" || day != "2023-11-14" || tm != "12:34:56.789" ||
			ts.UTC().Format("2006-01-02 15:04:05.000") != "2023-11-14 22:13:20.123" || n != 5 {
			t.Fatalf("row = %v %v %v %v %v %v %v %q %v %q %q %q %v %v", i8, i16, i32, i64, f32, f64, b, s, by, dec, day, tm, ts.UTC(), n)
		}
	})
}

// A string primary key with auto.create fails on MySQL (TEXT in a key), as the
// connector does; the local sink says so on both targets and points at the migrations.
func TestAutoCreateStringKeyFailsLikeTheConnector(t *testing.T) {
	eachTarget(t, func(t *testing.T, d *db.DB) {
		topic, table := unique("orders"), unique("orders")
		dropLater(t, d, table)
		brokers := newCluster(t, 1, topic)
		produce(t, brokers, orderRecord(t, topic, testOrder(1)))
		r := start(t, ordersConfig(t, topic, table, "auto.create", "true", "max.retries", "1"), d, brokers, nil)
		err := r.wait(t)
		if !errors.Is(err, ErrWrite) || !strings.Contains(err.Error(), "ordersync migrate") || !strings.Contains(err.Error(), "TEXT") {
			t.Fatalf("Run = %v, want a write error pointing at db/migrations", err)
		}
		if d.Dialect == db.MySQL && !strings.Contains(err.Error(), "1170") {
			t.Fatalf("Run = %v, want MySQL error 1170 (BLOB/TEXT column used in key specification)", err)
		}
		if r.Stats().Retries != 1 {
			t.Fatalf("retries = %d, want max.retries=1", r.Stats().Retries)
		}
	})
}

func TestAutoEvolveAddsOptionalColumns(t *testing.T) {
	const (
		v1 = `{"type":"struct","name":"item","fields":[{"field":"id","type":"int64"},{"field":"name","type":"string","optional":true}]}`
		v2 = `{"type":"struct","name":"item","fields":[{"field":"id","type":"int64"},{"field":"name","type":"string","optional":true},` +
			`{"field":"note","type":"string","optional":true},{"field":"qty","type":"int32","optional":true,"default":1}]}`
		v3 = `{"type":"struct","name":"item","fields":[{"field":"id","type":"int64"},{"field":"must","type":"int32"}]}`
	)
	eachTarget(t, func(t *testing.T, d *db.DB) {
		topic, table, dlq := unique("items"), unique("items"), unique("items.dlq")
		dropLater(t, d, table)
		brokers := newCluster(t, 1, topic)
		produce(t, brokers,
			&kgo.Record{Topic: topic, Value: envelopeOf(v1, `{"id":1,"name":"one"}`)},
			&kgo.Record{Topic: topic, Value: envelopeOf(v2, `{"id":2,"name":"two","note":"added","qty":3}`)},
			&kgo.Record{Topic: topic, Value: envelopeOf(v3, `{"id":3,"must":7}`)},
			&kgo.Record{Topic: topic, Value: envelopeOf(v2, `{"id":4,"name":"four","note":null,"qty":null}`)},
		)
		cfg := testConfig(t, "items-"+topic, "topics", topic, "table.name.format", table,
			"insert.mode", "upsert", "pk.mode", "record_value", "pk.fields", "id",
			"auto.create", "true", "auto.evolve", "true",
			"errors.tolerance", "all", "errors.deadletterqueue.topic.name", dlq,
			"errors.deadletterqueue.context.headers.enable", "true")
		runRecords(t, cfg, d, brokers, 4)
		want := map[string][]string{
			db.MySQL:  {"id bigint(20) NO", "name text YES", "note text YES", "qty int(11) YES"},
			db.SQLite: {"id BIGINT NO", "name TEXT YES", "note TEXT YES", "qty INT YES"},
		}[d.Dialect]
		if got := columnTypes(t, d, table); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("columns %v, want %v", got, want)
		}
		got := rowTexts(t, d, " ", "SELECT id, name, note, qty FROM `"+table+"` ORDER BY id")
		// ADD COLUMN ... DEFAULT 1 gives the existing row the default.
		if want := "1 one NULL 1|2 two added 3|4 four NULL 1"; strings.Join(got, "|") != want {
			t.Fatalf("rows %q, want %q", strings.Join(got, "|"), want)
		}
		dead := consumeAll(t, brokers, dlq, 1)
		h := headers(dead[0])
		if h["__connect.errors.stage"] != "TASK_PUT" || h["__connect.errors.exception.class.name"] != tableException ||
			!strings.Contains(h["__connect.errors.exception.message"], "must") || h["__connect.errors.offset"] != "2" {
			t.Fatalf("DLQ headers %v, want the TASK_PUT table error for the required field at offset 2", h)
		}
	})
}

func TestMissingTableWithoutAutoCreate(t *testing.T) {
	d := openSQLite(t)
	topic := unique("orders")
	brokers := newCluster(t, 1, topic)
	produce(t, brokers, orderRecord(t, topic, testOrder(1)))
	r := start(t, ordersConfig(t, topic, "no_such_table"), d, brokers, nil)
	err := r.wait(t)
	if !errors.Is(err, ErrTable) || !errors.Is(err, ErrTolerance) || !strings.Contains(err.Error(), "ordersync migrate") {
		t.Fatalf("Run = %v, want a table error naming the migrations", err)
	}
	if r.Stats().Retries != 0 {
		t.Fatalf("retried %d times; the connector does not retry table errors", r.Stats().Retries)
	}
}

func TestDeleteEnabledWithTombstones(t *testing.T) {
	eachTarget(t, func(t *testing.T, d *db.DB) {
		topic, table, brokers := ordersTopic(t, d, 1)
		a, b := testOrder(1), testOrder(2)
		produce(t, brokers,
			orderRecord(t, topic, a), orderRecord(t, topic, b),
			&kgo.Record{Topic: topic, Key: []byte(a.OrderID)},                           // delete a
			&kgo.Record{Topic: topic, Key: []byte(b.OrderID)}, orderRecord(t, topic, b), // delete b, then insert it again
		)
		cfg := testConfig(t, "del-"+topic, "topics", topic, "table.name.format", table,
			"insert.mode", "upsert", "pk.mode", "record_key", "pk.fields", "order_id", "delete.enabled", "true")
		runRecords(t, cfg, d, brokers, 5)
		ids := rowTexts(t, d, "", "SELECT order_id FROM `"+table+"`")
		if len(ids) != 1 || ids[0] != b.OrderID {
			t.Fatalf("rows %v, want only %s", ids, b.OrderID)
		}
	})
}

// pk.mode=kafka keys rows by topic, partition and offset, which come first in the table.
func TestKafkaCoordinatesKey(t *testing.T) {
	eachTarget(t, func(t *testing.T, d *db.DB) {
		topic, table := unique("items"), unique("items")
		dropLater(t, d, table)
		if _, err := d.SQL.Exec("CREATE TABLE `" + table + "` (`__connect_topic` VARCHAR(255) NOT NULL, `__connect_partition` INT NOT NULL, " +
			"`__connect_offset` BIGINT NOT NULL, `name` TEXT NULL, PRIMARY KEY (`__connect_topic`, `__connect_partition`, `__connect_offset`))"); err != nil {
			t.Fatal(err)
		}
		brokers := newCluster(t, 1, topic)
		schema := `{"type":"struct","fields":[{"field":"name","type":"string","optional":true}]}`
		produce(t, brokers,
			&kgo.Record{Topic: topic, Value: envelopeOf(schema, `{"name":"a"}`)},
			&kgo.Record{Topic: topic, Value: envelopeOf(schema, `{"name":"a"}`)},
			&kgo.Record{Topic: topic, Value: envelopeOf(schema, `{"name":null}`)})
		cfg := testConfig(t, "kafka-"+topic, "topics", topic, "table.name.format", table, "insert.mode", "insert", "pk.mode", "kafka")
		runRecords(t, cfg, d, brokers, 3)
		got := rowTexts(t, d, "/", "SELECT `__connect_topic`, `__connect_partition`, `__connect_offset`, COALESCE(name, 'NULL') FROM `"+table+"` ORDER BY `__connect_offset`")
		want := []string{topic + "/0/0/a", topic + "/0/1/a", topic + "/0/2/NULL"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("rows %v, want %v", got, want)
		}
	})
	// And the CREATE order the connector uses: coordinates first.
	cfg := testConfig(t, "kafka", "topics", "t", "pk.mode", "kafka")
	l, err := newLayout(&cfg, sqlWriter{}, tableID{name: "t"}, nil, mustSchema(t, `{"type":"struct","fields":[{"field":"name","type":"string","optional":true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	q, err := sqlWriter{dialect: db.MySQL, quote: true}.create(l)
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE TABLE `t` (\n`__connect_topic` TEXT NOT NULL,\n`__connect_partition` INT NOT NULL,\n`__connect_offset` BIGINT NOT NULL,\n`name` TEXT NULL,\n" +
		"PRIMARY KEY(`__connect_topic`,`__connect_partition`,`__connect_offset`))"
	if q != want {
		t.Fatalf("CREATE =\n%s\nwant\n%s", q, want)
	}
}
