package ordersync

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/local/runtimeapi"
	"github.com/ordersync/ordersync/shared/db"
	"github.com/ordersync/ordersync/shared/order"
)

// TestInvokeSampleEvents does what `sam local invoke <Function> -e events/<file>
// --env-vars env.json` does, without Docker: it builds each function for this machine,
// runs the binary under a Lambda Runtime API emulator with env.json's variables (the
// broker being an in-process Kafka cluster) and invokes it with every sample event.
func TestInvokeSampleEvents(t *testing.T) {
	testkit.Long(t, "builds and runs the functions")
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1),
		kfake.SeedTopics(3, "orders.submitted", "orders", "orders.rejected", "orders.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()

	envFile := envJSON(t)

	for _, tc := range []struct {
		id, pkg, glob string
		check         func(t *testing.T, name string, out []byte)
		env           func(t *testing.T) map[string]string // overrides of env.json for this machine
	}{
		{"CreateOrderFunction", "./functions/create-order", "events/create-order*.json", checkCreateOrder, nil},
		{"ValidateOrderFunction", "./functions/validate-order", "events/validate-order*.json", checkValidateOrder, nil},
		{"GetOrdersFunction", "./functions/get-orders", "events/[gl]*-order*.json", checkGetOrders, sampleOrdersDatabase},
	} {
		t.Run(tc.id, func(t *testing.T) {
			var override map[string]string
			if tc.env != nil {
				override = tc.env(t)
			}
			bin := testkit.Build(t, tc.pkg, "lambda.norpc")
			var env []string
			for _, scope := range []string{"Parameters", tc.id} {
				for k, v := range envFile[scope] {
					if k == "KAFKA_BROKERS" {
						v = strings.Join(cluster.ListenAddrs(), ",")
					}
					if o, ok := override[k]; ok {
						v = o
					}
					env = append(env, k+"="+v)
				}
			}
			fn := testkit.Lambda(t, runtimeapi.Config{
				Name: tc.id, Path: bin, Dir: ".", Env: env, Timeout: 30 * time.Second,
				MemorySize: 256, Concurrency: 1, Region: "eu-west-1",
			})
			files, err := filepath.Glob(tc.glob)
			if err != nil || len(files) == 0 {
				t.Fatalf("no events %s: %v", tc.glob, err)
			}
			for _, f := range files {
				payload := readFile(t, f)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				out, err := fn.Invoke(ctx, payload)
				cancel()
				if err != nil {
					t.Errorf("%s: %v", f, err)
					continue
				}
				tc.check(t, filepath.Base(f), out)
			}
		})
	}
}

// checkCreateOrder expects 422 for the invalid sample and 201 with the order for the others.
func checkCreateOrder(t *testing.T, name string, out []byte) {
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Errorf("%s: response %s: %v", name, out, err)
		return
	}
	if strings.Contains(name, "invalid") {
		if resp.StatusCode != 422 {
			t.Errorf("%s: status %d, want 422: %s", name, resp.StatusCode, resp.Body)
		}
		return
	}
	if resp.StatusCode != 201 {
		t.Errorf("%s: status %d, want 201: %s", name, resp.StatusCode, resp.Body)
		return
	}
	var body struct {
		OrderID string `json:"orderId"`
		UserID  string `json:"userId"`
		Status  string `json:"status"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Errorf("%s: body %s: %v", name, resp.Body, err)
		return
	}
	if body.UserID != "user-42" || body.Status != string(order.Pending) {
		t.Errorf("%s: body %s", name, resp.Body)
	}
	if strings.Contains(name, "idempotent") {
		if want := order.ID("user-42", "checkout-7f3a9c2e-0001"); body.OrderID != want {
			t.Errorf("%s: orderId %s, want %s from the Idempotency-Key", name, body.OrderID, want)
		}
	}
}

// checkValidateOrder expects each batch's three records to be accepted, rejected and
// dead-lettered.
func checkValidateOrder(t *testing.T, name string, out []byte) {
	var res struct{ Records, Accepted, Rejected, DeadLettered int }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Errorf("%s: response %s: %v", name, out, err)
		return
	}
	if res.Records != 3 || res.Accepted != 1 || res.Rejected != 1 || res.DeadLettered != 1 {
		t.Errorf("%s: %s, want 3 records: 1 accepted, 1 rejected, 1 dead-lettered", name, out)
	}
}

// sampleOrdersDatabase stands for env.json's database on the host: a fresh, migrated
// MariaDB database holding the order events/get-order.json asks for.
func sampleOrdersDatabase(t *testing.T) map[string]string {
	d := testkit.MariaDB(t, "invoke")
	if err := db.Apply(context.Background(), d.SQL, db.MySQL); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SQL.Exec("INSERT INTO orders (order_id, user_id, product_id, qty, unit_price, total_price, status, created_at) VALUES (?, 'user-42', 'CATALOG-0002', 2, 4999, 9998, 'ACCEPTED', ?)",
		order.ID("user-42", "checkout-7f3a9c2e-0001"), sampleTime.Format("2006-01-02 15:04:05.000")); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"DATABASE_URL": d.URL}
}

// checkGetOrders expects the sample order for get-order.json and a one-order page for
// list-orders.json.
func checkGetOrders(t *testing.T, name string, out []byte) {
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 200 {
		t.Errorf("%s: response %s: %v", name, out, err)
		return
	}
	want := order.ID("user-42", "checkout-7f3a9c2e-0001")
	if !strings.Contains(resp.Body, `"orderId":"`+want+`"`) || !strings.Contains(resp.Body, `"status":"ACCEPTED"`) {
		t.Errorf("%s: body %s, want order %s accepted", name, resp.Body, want)
	}
}
