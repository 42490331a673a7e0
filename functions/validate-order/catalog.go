package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/ordersync/ordersync/shared/order"
)

// Product is one catalog entry: the only unit price an order may carry and the largest
// quantity one order may ask for.
type Product struct {
	UnitPrice int64 `json:"unitPrice"`
	MaxQty    int32 `json:"maxQty"`
}

// Catalog maps product ids to products. The file format (CATALOG_FILE) is one JSON object:
//
//	{"CATALOG-0001": {"unitPrice": 1200, "maxQty": 100}, "CATALOG-0002": {...}}
type Catalog map[string]Product

// Errors returned by LoadCatalog and ParseCatalog, wrapped with the file and product.
var (
	ErrCatalogSyntax  = errors.New("not a JSON object of products")
	ErrCatalogEmpty   = errors.New("has no products")
	ErrCatalogProduct = errors.New("bad product")
)

// LoadCatalog reads and checks a catalog file. Every problem is one line naming the file.
func LoadCatalog(path string) (Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CATALOG_FILE: %w", err)
	}
	c, err := ParseCatalog(data)
	if err != nil {
		return nil, fmt.Errorf("CATALOG_FILE %s: %w", path, err)
	}
	return c, nil
}

// ParseCatalog decodes a catalog strictly: unknown members, duplicate ids, ids that break
// the product id rule, and prices or quantities outside the order rules are errors.
func ParseCatalog(data []byte) (Catalog, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, ErrCatalogSyntax
	}
	c := Catalog{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCatalogSyntax, err)
		}
		id := tok.(string) // object keys are always strings
		var p struct {
			UnitPrice *int64 `json:"unitPrice"`
			MaxQty    *int32 `json:"maxQty"`
		}
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrCatalogProduct, id, err)
		}
		if _, dup := c[id]; dup {
			return nil, fmt.Errorf("%w %q: listed twice", ErrCatalogProduct, id)
		}
		probe := order.Order{ProductID: id}
		for _, fe := range probe.Check() {
			if fe.Field == "product_id" {
				return nil, fmt.Errorf("%w %q: id %s", ErrCatalogProduct, id, fe.Message)
			}
		}
		switch {
		case p.UnitPrice == nil || p.MaxQty == nil:
			return nil, fmt.Errorf("%w %q: needs unitPrice and maxQty", ErrCatalogProduct, id)
		case *p.UnitPrice < order.MinUnitPrice || *p.UnitPrice > order.MaxUnitPrice:
			return nil, fmt.Errorf("%w %q: unitPrice must be between %d and %d", ErrCatalogProduct, id, order.MinUnitPrice, order.MaxUnitPrice)
		case *p.MaxQty < order.MinQty || *p.MaxQty > order.MaxQty:
			return nil, fmt.Errorf("%w %q: maxQty must be between %d and %d", ErrCatalogProduct, id, order.MinQty, order.MaxQty)
		}
		c[id] = Product{UnitPrice: *p.UnitPrice, MaxQty: *p.MaxQty}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCatalogSyntax, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the object", ErrCatalogSyntax)
	}
	if len(c) == 0 {
		return nil, ErrCatalogEmpty
	}
	return c, nil
}

// Check returns the catalog rules o breaks: an unknown product, a unit price other than
// the catalog's, or a quantity above the product's maximum.
func (c Catalog) Check(o *order.Order) []order.FieldError {
	p, ok := c[o.ProductID]
	if !ok {
		return []order.FieldError{{Field: "product_id", Message: fmt.Sprintf("unknown product %q", o.ProductID)}}
	}
	var errs []order.FieldError
	if o.Qty > p.MaxQty {
		errs = append(errs, order.FieldError{Field: "qty", Message: fmt.Sprintf("must be at most %d for %s", p.MaxQty, o.ProductID)})
	}
	if o.UnitPrice != p.UnitPrice {
		errs = append(errs, order.FieldError{Field: "unit_price", Message: fmt.Sprintf("must be %d for %s", p.UnitPrice, o.ProductID)})
	}
	return errs
}

// String lists the product ids, for logs.
func (c Catalog) String() string {
	ids := make([]string, 0, len(c))
	for id := range c {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}
