-- Accepted orders, written by the JDBC sink from the `orders` topic
-- (connect/orders-sink.json: insert.mode=upsert, pk.mode=record_value, pk.fields=order_id).
--
-- One file for MariaDB / Aurora MySQL and SQLite: the MySQL-only table options sit in a
-- /*! ... */ executable comment, which MySQL and MariaDB run and SQLite skips as a comment.
-- Column names and order follow the record schema (DESIGN.md "Kafka records"), so the
-- connector's statements fit the table as it is; auto.create stays off because it would
-- make TEXT columns, and MySQL cannot index a TEXT primary key.
CREATE TABLE IF NOT EXISTS orders (
  order_id    CHAR(36)    NOT NULL,
  user_id     VARCHAR(64) NOT NULL,
  product_id  VARCHAR(64) NOT NULL,
  qty         INT         NOT NULL,
  unit_price  BIGINT      NOT NULL,
  total_price BIGINT      NOT NULL,
  status      VARCHAR(16) NOT NULL,
  created_at  DATETIME(3) NOT NULL,
  reason      TEXT        NULL,
  PRIMARY KEY (order_id)
) /*! ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin */;

-- A user's orders, newest first: WHERE user_id = ? ORDER BY created_at DESC.
CREATE INDEX orders_user_created ON orders (user_id, created_at);
