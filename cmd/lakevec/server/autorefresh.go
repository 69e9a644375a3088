package server

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakevec/lakevec/engine"
)

// Automatic refresh: with Options.RefreshInterval set, the server
// refreshes every attached collection of its data directory on that
// interval (one at a time; a refresh applies each new snapshot whole, and
// searches go on meanwhile). After each round it records every
// collection's lag (snapshots or files behind, and for how long) for
// /metrics and the collections endpoints; a scrape never touches the lake.

// collState is what the refresh loop last saw of a collection.
type collState struct {
	lag       engine.Lag
	lagErr    bool
	rows      float64
	refreshed time.Time
}

type refreshStats struct {
	mu    sync.Mutex
	state map[string]collState
}

var (
	descLagSnapshots = prometheus.NewDesc("lakevec_collection_lag_snapshots",
		"Iceberg snapshots committed to an attached table and not yet indexed (at the last automatic refresh round).", []string{"collection"}, nil)
	descLagSeconds = prometheus.NewDesc("lakevec_collection_lag_seconds",
		"How long the oldest unindexed change of an attached collection's source has waited (at the last automatic refresh round).", []string{"collection"}, nil)
	descLagFiles = prometheus.NewDesc("lakevec_collection_lag_files",
		"Files of an attached Parquet dataset added, changed or removed and not yet indexed (at the last automatic refresh round).", []string{"collection"}, nil)
	descCollRows = prometheus.NewDesc("lakevec_collection_rows", "Rows live now in an attached collection.", []string{"collection"}, nil)
)

// refreshLoop runs until ctx ends.
func (s *Server) refreshLoop(ctx context.Context) {
	t := time.NewTicker(s.o.RefreshInterval)
	defer t.Stop()
	for {
		s.refreshRound(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refreshRound refreshes every attached collection once.
func (s *Server) refreshRound(ctx context.Context) {
	names, err := engine.ExternalNames(s.o.DataDir)
	if err != nil {
		s.lg.Warn("automatic refresh: list collections", "err", err)
		return
	}
	for _, n := range names {
		if ctx.Err() != nil {
			return
		}
		ent, err := s.openExternal(ctx, n)
		if err != nil {
			s.lg.Warn("automatic refresh: open", "collection", n, "err", err)
			continue
		}
		x, err := ent.get()
		if err != nil {
			return // shutting down
		}
		rep, err := x.Refresh(ctx)
		result := "ok"
		if err != nil {
			result = "failed"
			s.lg.Warn("automatic refresh", "collection", n, "err", err)
		} else if rep.Snapshots > 0 { // an idle round keeps the last report that did something
			ent.lastRep.Store(&rep)
			s.lg.Info("automatic refresh", "collection", n, "snapshots", rep.Snapshots, "files_read", rep.FilesRead,
				"rows_added", rep.RowsAdded, "rows_removed", rep.RowsRemoved, "seconds", rep.Seconds)
		}
		s.met.refreshes.WithLabelValues(result).Inc()
		st := collState{refreshed: time.Now(), rows: num(x.Info()["rows"])}
		if lag, err := x.Lag(ctx); err != nil {
			st.lagErr = true
		} else {
			st.lag = lag
		}
		s.refresh.mu.Lock()
		if s.refresh.state == nil {
			s.refresh.state = map[string]collState{}
		}
		s.refresh.state[n] = st
		s.refresh.mu.Unlock()
	}
}

// collCollector reports what the refresh loop recorded.
type collCollector struct{ s *Server }

func (c collCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descLagSnapshots
	ch <- descLagSeconds
	ch <- descLagFiles
	ch <- descCollRows
}

func (c collCollector) Collect(ch chan<- prometheus.Metric) {
	c.s.refresh.mu.Lock()
	defer c.s.refresh.mu.Unlock()
	for n, st := range c.s.refresh.state {
		ch <- prometheus.MustNewConstMetric(descCollRows, prometheus.GaugeValue, st.rows, n)
		if st.lagErr {
			continue
		}
		ch <- prometheus.MustNewConstMetric(descLagSnapshots, prometheus.GaugeValue, float64(st.lag.Snapshots), n)
		ch <- prometheus.MustNewConstMetric(descLagSeconds, prometheus.GaugeValue, st.lag.Seconds, n)
		ch <- prometheus.MustNewConstMetric(descLagFiles, prometheus.GaugeValue, float64(st.lag.Files), n)
	}
}
