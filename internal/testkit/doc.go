// Package testkit provides what the tests of many packages share: golden files, a fresh
// MariaDB database, a free address, binaries built once, topics read to their end, a
// broker listener whose connections can be frozen, the order record's schema as
// JsonConverter writes it, and a TestMain that fails the run when a test leaves a
// database or a process behind.
package testkit
