package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadCatalog(t *testing.T) {
	c, err := LoadCatalog("testdata/catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := c["CATALOG-0002"]; got != (Product{UnitPrice: 4999, MaxQty: 10}) {
		t.Errorf("CATALOG-0002 = %+v", got)
	}
	if got := c.String(); got != "CATALOG-0001,CATALOG-0002,CATALOG-0003" {
		t.Errorf("String() = %q", got)
	}
}

func TestParseCatalogErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		err        error
		msg        string
	}{
		{"not json", `{`, ErrCatalogSyntax, ""},
		{"array", `[{"unitPrice":1,"maxQty":1}]`, ErrCatalogSyntax, ""},
		{"empty", `{}`, ErrCatalogEmpty, ""},
		{"trailing data", `{"A":{"unitPrice":1,"maxQty":1}} {}`, ErrCatalogSyntax, "data after"},
		{"unknown member", `{"A":{"unitPrice":1,"maxQty":1,"price":2}}`, ErrCatalogProduct, `"A"`},
		{"missing maxQty", `{"A":{"unitPrice":1}}`, ErrCatalogProduct, "needs unitPrice and maxQty"},
		{"price type", `{"A":{"unitPrice":"1","maxQty":1}}`, ErrCatalogProduct, `"A"`},
		{"price range", `{"A":{"unitPrice":0,"maxQty":1}}`, ErrCatalogProduct, "unitPrice must be between 1 and 1000000000"},
		{"qty range", `{"A":{"unitPrice":1,"maxQty":10001}}`, ErrCatalogProduct, "maxQty must be between 1 and 10000"},
		{"bad id", `{"CATALOG 1":{"unitPrice":1,"maxQty":1}}`, ErrCatalogProduct, `"CATALOG 1": id must contain only`},
		{"duplicate", `{"A":{"unitPrice":1,"maxQty":1},"A":{"unitPrice":2,"maxQty":1}}`, ErrCatalogProduct, "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCatalog([]byte(tc.data))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %q, want one line containing %q", err, tc.msg)
			}
		})
	}
}

// TestRunFailsOnBadConfig checks the start-up errors: one line naming the setting, and
// no client or Lambda loop started. A bad LOG_LEVEL stops logging.Main before run.
func TestRunFailsOnBadConfig(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(bad, []byte(`{"CATALOG-0001":{"unitPrice":-1,"maxQty":5}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, env, value, want string
	}{
		{"catalog missing", "CATALOG_FILE", filepath.Join(t.TempDir(), "nope.json"), "CATALOG_FILE: open "},
		{"catalog invalid", "CATALOG_FILE", bad, "CATALOG_FILE " + bad + `: bad product "CATALOG-0001": unitPrice must be between`},
		{"auth", "KAFKA_AUTH", "kerberos", "KAFKA_AUTH: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"CATALOG_FILE", "KAFKA_AUTH", "KAFKA_BROKERS"} {
				t.Setenv(k, "")
			}
			t.Setenv(tc.env, tc.value)
			err := run(slog.New(slog.DiscardHandler))
			if err == nil {
				t.Fatal("run() = nil, want a configuration error")
			}
			if !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("run() = %q, want one line starting %q", err, tc.want)
			}
		})
	}
}
