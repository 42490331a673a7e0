-- Rejected orders, written by the JDBC sink from `orders.rejected`
-- (connect/order-rejections-sink.json). Same record schema as `orders`; `reason` says why.
CREATE TABLE IF NOT EXISTS order_rejections (
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

CREATE INDEX order_rejections_user_created ON order_rejections (user_id, created_at);
