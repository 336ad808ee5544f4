package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the gateway's Prometheus series, on a registry of its own.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	payments *prometheus.CounterVec
}

// NewMetrics registers the gateway's series and the Go runtime's.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartgateway_http_requests_total", Help: "HTTP requests by endpoint and status code.",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cartgateway_http_request_duration_seconds", Help: "HTTP request latency by endpoint.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"endpoint"}),
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartgateway_payments_total", Help: "Payment operations by operation and outcome (approved, declined, refused, error, replayed).",
		}, []string{"operation", "outcome"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.payments,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the series in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// requestObserver returns what counts and times one endpoint's requests. It
// resolves the endpoint's series once, and each status code's on first use,
// instead of hashing the labels on every request.
func (m *Metrics) requestObserver(endpoint string) func(status int, elapsed time.Duration) {
	latency := m.latency.WithLabelValues(endpoint)
	var byStatus sync.Map // int -> prometheus.Counter
	return func(status int, elapsed time.Duration) {
		c, ok := byStatus.Load(status)
		if !ok {
			c, _ = byStatus.LoadOrStore(status, m.requests.WithLabelValues(endpoint, strconv.Itoa(status)))
		}
		c.(prometheus.Counter).Inc()
		latency.Observe(elapsed.Seconds())
	}
}

// observePayment counts an operation's outcome.
func (h *Handler) observePayment(operation, outcome string) {
	h.Metrics.payments.WithLabelValues(operation, outcome).Inc()
}

// outcomeOf names the outcome of an operation that answered err.
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return "approved"
	case gateway.ErrorKind(err) == gateway.KindDeclined:
		return "declined"
	case statusOf(gateway.ErrorKind(err)) >= 500:
		return "error"
	default:
		return "refused"
	}
}

func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

func slogString(k, v string) slog.Attr  { return slog.String(k, v) }
func slogInt(k string, v int) slog.Attr { return slog.Int(k, v) }
