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
