-- Once stored, an order's content and created_at never change; only status and reason
-- may. The SQLite form of 0003_keep_order_content.mysql.sql (read it for why, and why
-- the write is kept silently instead of refused): same rule, same outcome.
--
-- SQLite cannot assign NEW in a trigger. RAISE(IGNORE) in a BEFORE UPDATE trigger skips
-- the update of this one row, with no error, and the statement goes on with its other
-- rows; that holds for the local sink's multi-row
--   INSERT INTO `orders`(…) VALUES(?,…),(?,…) ON CONFLICT(`order_id`) DO UPDATE SET `user_id`=excluded.`user_id`,…
-- whose DO UPDATE fires UPDATE triggers. So an update whose content or created_at differs
-- from the stored row leaves the row as stored, status and reason included; one that
-- matches applies. IS NOT is NULL-safe inequality.
CREATE TRIGGER IF NOT EXISTS orders_keep_content BEFORE UPDATE ON orders FOR EACH ROW
WHEN NEW.user_id IS NOT OLD.user_id OR NEW.product_id IS NOT OLD.product_id OR NEW.qty IS NOT OLD.qty
  OR NEW.unit_price IS NOT OLD.unit_price OR NEW.total_price IS NOT OLD.total_price
  OR NEW.created_at IS NOT OLD.created_at
BEGIN
  SELECT RAISE(IGNORE);
END;

CREATE TRIGGER IF NOT EXISTS order_rejections_keep_content BEFORE UPDATE ON order_rejections FOR EACH ROW
WHEN NEW.user_id IS NOT OLD.user_id OR NEW.product_id IS NOT OLD.product_id OR NEW.qty IS NOT OLD.qty
  OR NEW.unit_price IS NOT OLD.unit_price OR NEW.total_price IS NOT OLD.total_price
  OR NEW.created_at IS NOT OLD.created_at
BEGIN
  SELECT RAISE(IGNORE);
END;
