-- get-orders reads a user's orders newest first, from both tables, paged by keyset on
-- (created_at, order_id): WHERE user_id = ? AND (created_at, order_id) < cursor
-- ORDER BY created_at DESC, order_id DESC LIMIT n. These indexes answer it in order,
-- page after page, without a sort and without reading the rows before the cursor.
CREATE INDEX orders_user_created_id ON orders (user_id, created_at, order_id);
CREATE INDEX order_rejections_user_created_id ON order_rejections (user_id, created_at, order_id);

-- The (user_id, created_at) indexes of 0001 and 0002 are prefixes of these: every write
-- would pay for them and no query needs them. MySQL's DROP INDEX names the table,
-- SQLite's does not: the ON clause sits in an executable comment that only MySQL and
-- MariaDB run.
DROP INDEX orders_user_created /*! ON orders */;
DROP INDEX order_rejections_user_created /*! ON order_rejections */;
