package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics live in the server's own registry (not the global one), so two
// servers in one process (tests) do not collide.
type metrics struct {
	reg      *prometheus.Registry
	latency  *prometheus.HistogramVec
	inFlight prometheus.Gauge
	batches  *prometheus.CounterVec
	// embeddings counts chunks of ingested documents by whether their
	// embedding was computed or reused (unchanged text, or text embedded
	// before); refreshes counts automatic refreshes by result.
	embeddings *prometheus.CounterVec
	refreshes  *prometheus.CounterVec
	handler    http.Handler
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lakevec_http_request_duration_seconds",
		Help:    "Latency of HTTP requests by route pattern and status code.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route", "status"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lakevec_http_requests_in_flight",
		Help: "HTTP requests being served.",
	})
	m.batches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lakevec_api_ingest_requests_total",
		Help: "Ingest and delete requests by result: committed (a new batch), unchanged (no batch), failed.",
	}, []string{"result"})
	m.embeddings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lakevec_embeddings_total",
		Help: "Chunks of ingested documents by embedding: computed (new text) or reused (unchanged, or embedded before).",
	}, []string{"result"})
	m.refreshes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lakevec_collection_refreshes_total",
		Help: "Automatic refreshes of attached collections by result.",
	}, []string{"result"})
	m.reg.MustRegister(m.latency, m.inFlight, m.batches, m.embeddings, m.refreshes, kbCollector{s}, collCollector{s},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: nil})
	return m
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	m.latency.WithLabelValues(route, strconv.Itoa(status)).Observe(d.Seconds())
}

var (
	descRows = prometheus.NewDesc("lakevec_kb_rows", "Chunk versions in an index: current (the hot index, valid now) or history (every version ever).",
		[]string{"index"}, nil)
	descBatches = prometheus.NewDesc("lakevec_kb_batches", "Batches applied to the collection (the last batch sequence number).", nil, nil)
	descReady   = prometheus.NewDesc("lakevec_kb_ready", "1 once the knowledge base is open.", nil, nil)
	descBacklog = prometheus.NewDesc("lakevec_wal_backlog_batches", "Batches in the write-ahead log not yet applied everywhere (0 when idle, 1 during a commit).", nil, nil)
)

// walBacklogger is implemented by *engine.KB.
type walBacklogger interface{ WALBacklog() (int, error) }

// kbCollector reads kb.Stats() at scrape time.
type kbCollector struct{ s *Server }

func (c kbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descRows
	ch <- descBatches
	ch <- descReady
	ch <- descBacklog
}

func (c kbCollector) Collect(ch chan<- prometheus.Metric) {
	kb := c.s.kbOrNil()
	if kb == nil {
		ch <- prometheus.MustNewConstMetric(descReady, prometheus.GaugeValue, 0)
		return
	}
	st := kb.Stats()
	ch <- prometheus.MustNewConstMetric(descReady, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(descRows, prometheus.GaugeValue, float64(st.Current), "current")
	ch <- prometheus.MustNewConstMetric(descRows, prometheus.GaugeValue, float64(st.Rows), "history")
	ch <- prometheus.MustNewConstMetric(descBatches, prometheus.GaugeValue, float64(st.Batches))
	if b, ok := kb.(walBacklogger); ok {
		if n, err := b.WALBacklog(); err == nil {
			ch <- prometheus.MustNewConstMetric(descBacklog, prometheus.GaugeValue, float64(n))
		}
	}
}
