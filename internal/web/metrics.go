package web

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the gateway's Prometheus series, on a registry of its own:
// the HTTP series of every surface, the Go runtime's, and whatever the
// surfaces and jobs register.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the HTTP series and the Go runtime's.
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
	}
	m.registry.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// MustRegister adds a surface's or a job's own series.
func (m *Metrics) MustRegister(c ...prometheus.Collector) { m.registry.MustRegister(c...) }

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

// WebhookObservers registers the series of event delivery and returns what
// feeds them (service.WebhookConfig's Observe and ObserveBacklog).
func (m *Metrics) WebhookObservers() (observe func(outcome string, latency time.Duration), backlog func(age time.Duration, pending int)) {
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cartgateway_webhook_deliveries_total", Help: "Webhook delivery attempts by outcome: delivered, retry (failed, retried later), failed (given up).",
	}, []string{"outcome"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "cartgateway_webhook_delivery_duration_seconds", Help: "Webhook delivery attempt latency by outcome.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"outcome"})
	age := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cartgateway_webhook_backlog_seconds", Help: "Age of the oldest undelivered webhook event (0: none waits).",
	})
	pending := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cartgateway_webhook_pending_deliveries", Help: "Webhook deliveries not yet delivered or given up.",
	})
	m.registry.MustRegister(attempts, latency, age, pending)
	observe = func(outcome string, d time.Duration) {
		attempts.WithLabelValues(outcome).Inc()
		latency.WithLabelValues(outcome).Observe(d.Seconds())
	}
	backlog = func(a time.Duration, n int) {
		age.Set(a.Seconds())
		pending.Set(float64(n))
	}
	return observe, backlog
}
