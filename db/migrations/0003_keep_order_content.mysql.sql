-- Once stored, an order's content (user_id, product_id, qty, unit_price, total_price) and
-- its created_at never change; only status and reason may. The database enforces it, so
-- it holds for every writer: the Confluent JDBC sink's upsert
--   insert into `orders`(`order_id`,…) values(?,…) on duplicate key update `user_id`=values(`user_id`),…
-- and the local sink's identical statement. (SQLite: 0003_keep_order_content.sqlite.sql.)
--
-- Why: an Idempotency-Key replay gets the same order id but is a new record, with a new
-- created_at and maybe another body; the upsert would overwrite the first order with it.
--
-- What the trigger does with an update of a stored row:
--   * content and created_at as stored: the update applies (status and reason may change;
--     a redelivered record rewrites the same values);
--   * anything else (a replay, even with the same body, has a later created_at): the row
--     keeps every column as stored, status and reason included, because the stored reason
--     explains the stored content. The statement succeeds and changes nothing.
--
-- The write is kept silently rather than refused with SIGNAL: an error fails the
-- connector's whole batch, which it retries (max.retries, 10 by default) and then either
-- dead-letters (errors.tolerance=all) or stops the task for good (none), halting every
-- order behind it. A client's retry is normal traffic, not a fault, so it must not do that.
--
-- A single-statement trigger body (one SET with several assignments, evaluated left to
-- right) needs no DELIMITER. status and reason are assigned first, while NEW still holds
-- the incoming content. <=> is NULL-safe equality.
-- Aurora MySQL / RDS: creating a trigger with binary logging on needs
-- log_bin_trust_function_creators=1 in the DB parameter group (docs/deploy.md).
DROP TRIGGER IF EXISTS orders_keep_content;

CREATE TRIGGER orders_keep_content BEFORE UPDATE ON orders FOR EACH ROW
SET NEW.status = IF(NEW.user_id <=> OLD.user_id AND NEW.product_id <=> OLD.product_id AND NEW.qty <=> OLD.qty
                    AND NEW.unit_price <=> OLD.unit_price AND NEW.total_price <=> OLD.total_price
                    AND NEW.created_at <=> OLD.created_at, NEW.status, OLD.status),
    NEW.reason = IF(NEW.user_id <=> OLD.user_id AND NEW.product_id <=> OLD.product_id AND NEW.qty <=> OLD.qty
                    AND NEW.unit_price <=> OLD.unit_price AND NEW.total_price <=> OLD.total_price
                    AND NEW.created_at <=> OLD.created_at, NEW.reason, OLD.reason),
    NEW.user_id = OLD.user_id,
    NEW.product_id = OLD.product_id,
    NEW.qty = OLD.qty,
    NEW.unit_price = OLD.unit_price,
    NEW.total_price = OLD.total_price,
    NEW.created_at = OLD.created_at;

DROP TRIGGER IF EXISTS order_rejections_keep_content;

CREATE TRIGGER order_rejections_keep_content BEFORE UPDATE ON order_rejections FOR EACH ROW
SET NEW.status = IF(NEW.user_id <=> OLD.user_id AND NEW.product_id <=> OLD.product_id AND NEW.qty <=> OLD.qty
                    AND NEW.unit_price <=> OLD.unit_price AND NEW.total_price <=> OLD.total_price
                    AND NEW.created_at <=> OLD.created_at, NEW.status, OLD.status),
    NEW.reason = IF(NEW.user_id <=> OLD.user_id AND NEW.product_id <=> OLD.product_id AND NEW.qty <=> OLD.qty
                    AND NEW.unit_price <=> OLD.unit_price AND NEW.total_price <=> OLD.total_price
                    AND NEW.created_at <=> OLD.created_at, NEW.reason, OLD.reason),
    NEW.user_id = OLD.user_id,
    NEW.product_id = OLD.product_id,
    NEW.qty = OLD.qty,
    NEW.unit_price = OLD.unit_price,
    NEW.total_price = OLD.total_price,
    NEW.created_at = OLD.created_at;
