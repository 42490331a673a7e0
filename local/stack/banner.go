package stack

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/ordersync/ordersync/local/console"
)

// banner tells the person at the terminal what runs where and how to try it. With JSON
// logs it is one record instead, so the stream stays JSON lines only.
func (r *run) banner() {
	db := r.store.Dialect + " " + r.store.Where
	if r.out.Format() == console.JSON {
		fns := make([]string, 0, len(r.fns))
		for _, fn := range r.fns {
			fns = append(fns, fn.name)
		}
		r.log.Info("ready", slog.String("http", r.ln.Addr().String()), slog.String("kafka", r.kafkaWhere),
			slog.Any("topics", r.topics), slog.Any("functions", fns), slog.Any("routes", r.routeLines),
			slog.Any("triggers", r.triggerLines), slog.String("database", db))
		return
	}
	var sb strings.Builder
	line := func(what, format string, args ...any) {
		fmt.Fprintf(&sb, "  %-13s %s\n", what, fmt.Sprintf(format, args...))
	}
	width := 0
	for _, fn := range r.fns {
		width = max(width, len(fn.name))
	}
	http := r.ln.Addr().String()
	sb.WriteString("\nordersync local stack — the AWS pipeline on this machine\n\n")
	line("API Gateway", "http://%s", http)
	for _, rt := range r.routeLines {
		line("", "%s", rt)
	}
	for _, fn := range r.fns {
		line("Lambda", "%-*s  %s  (%s; up to %d processes, timeout %s, %d MB)",
			width, fn.name, filepath.Join(r.cfg.Data, "bin", fn.name, "bootstrap"), fn.tf.LogicalID,
			r.cfg.Concurrency, fn.tf.Timeout, fn.tf.MemorySize)
	}
	for _, t := range r.triggerLines {
		line("trigger", "%s", t)
	}
	line("Kafka", "%s", r.kafkaWhere)
	line("", "topics %s", strings.Join(r.topics, ", "))
	for _, s := range r.sinkCfgs {
		tables := make([]string, 0, len(s.Topics))
		for _, t := range s.Topics {
			tables = append(tables, t+" → table "+s.Table(t))
		}
		line("JDBC sink", "%s  (%s)", strings.Join(tables, ", "), s.Name)
	}
	line("database", "%s", db)
	line("metrics", "http://%s/_stats", http)
	sb.WriteString("\nTry it:\n\n")
	fmt.Fprintf(&sb, "  curl -i -X POST http://%s/order-service/u-1/orders -H 'Content-Type: application/json' -d '{\"productId\":\"CATALOG-0001\",\"qty\":5,\"unitPrice\":1200}'\n", http)
	sb.WriteString("\nCtrl-C stops it; in-flight work is finished first and nothing is lost.\n\n")
	io.WriteString(r.cfg.Out, sb.String())
}
