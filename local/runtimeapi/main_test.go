package runtimeapi_test

import (
	"testing"

	"github.com/ordersync/ordersync/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }
