// Package db provides the SQL migrations that create the ordersync tables.
package db

import "embed"

// Migrations holds migrations/*.sql, applied in file-name order by local/migrate.
//
//go:embed migrations/*.sql
var Migrations embed.FS
