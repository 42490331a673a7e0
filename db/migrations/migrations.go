// Package migrations provides the SQL files that create the ordersync tables, applied in
// file-name order by shared/db.
package migrations

import "embed"

// FS holds the *.sql files of this folder.
//
//go:embed *.sql
var FS embed.FS
