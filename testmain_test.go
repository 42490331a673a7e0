package ordersync

import (
	"testing"

	"github.com/ordersync/ordersync/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }
