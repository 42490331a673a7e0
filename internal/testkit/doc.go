// Package testkit provides what the tests of many packages share: golden files, a fresh
// MariaDB database, a free address, binaries built once and invoked with an event file,
// topics read to their end, a broker listener whose connections can be frozen, a TCP
// proxy that plays database faults, query results as text, a buffer goroutines write
// while the test reads, JSON log lines decoded, the order record's schema as
// JsonConverter writes it, work spread over concurrent clients, and a TestMain that
// fails the run when a test leaves a database or a process behind.
package testkit
