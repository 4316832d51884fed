package ruleset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

func readFile(name string) ([]byte, error) { return os.ReadFile(name) }

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// Watcher keeps a Set current: it reloads the rules when a file under the
// configured paths changes (if Config.Reload) and when the process gets
// SIGHUP, and hands each new set to its subscribers. A reload that finds
// errors reports them and keeps the previous version of the files at
// fault (see Load).
type Watcher struct {
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	cur  *Set
	subs []func(*Set)

	reloads *prometheus.CounterVec
	loaded  *prometheus.GaugeVec
	lastOK  prometheus.Gauge
	trigger chan struct{}
}

// NewWatcher loads the rules (see Load) and returns a watcher over them.
// It fails if the rules have errors: at start-up a broken rule is a
// configuration error. Metrics are registered with reg, if not nil.
func NewWatcher(cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Watcher, error) {
	set, problems, err := Load(cfg, nil)
	if err != nil {
		return nil, err
	}
	var errs []string
	for _, p := range problems {
		if p.Severity == ast.Error {
			errs = append(errs, p.String())
		} else {
			log.Warn("rule problem", "problem", p.String())
		}
	}
	if len(errs) > 0 {
		return nil, &LoadError{Problems: errs}
	}
	w := &Watcher{
		cfg: cfg, log: log, cur: set, trigger: make(chan struct{}, 1),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_rules_reloads_total",
			Help: "Rule reloads, by result: ok, or partial when some file had errors and kept its previous rules.",
		}, []string{"result"}),
		loaded: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigil_rules_loaded",
			Help: "Rules running, by kind: detection, correlation, filter.",
		}, []string{"kind"}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigil_rules_last_reload_success_timestamp_seconds",
			Help: "When the rules were last loaded without errors.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{w.reloads, w.loaded, w.lastOK} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	w.setGauges(set)
	w.lastOK.SetToCurrentTime()
	return w, nil
}

// LoadError lists the errors in rules at start-up.
type LoadError struct{ Problems []string }

func (e *LoadError) Error() string {
	s := "rules have errors:"
	for _, p := range e.Problems {
		s += "\n\t" + p
	}
	return s
}

func (w *Watcher) setGauges(s *Set) {
	d, c, f := s.Count()
	w.loaded.WithLabelValues("detection").Set(float64(d))
	w.loaded.WithLabelValues("correlation").Set(float64(c))
	w.loaded.WithLabelValues("filter").Set(float64(f))
}

// Current returns the set in force.
func (w *Watcher) Current() *Set {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur
}

// Subscribe calls fn with every new set after a reload, from the
// watcher's goroutine.
func (w *Watcher) Subscribe(fn func(*Set)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.subs = append(w.subs, fn)
}

// Reload asks for a reload now, as SIGHUP does.
func (w *Watcher) Reload() {
	select {
	case w.trigger <- struct{}{}:
	default:
	}
}

// Run watches for changes until ctx is done.
func (w *Watcher) Run(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var events chan fsnotify.Event
	var errs chan error
	var fw *fsnotify.Watcher
	if w.cfg.Reload && len(w.cfg.Paths) > 0 {
		var err error
		if fw, err = fsnotify.NewWatcher(); err != nil {
			w.log.Warn("cannot watch rule files; reload with SIGHUP", "err", err)
			fw = nil
		} else {
			defer fw.Close()
			w.watchPaths(fw)
			events, errs = fw.Events, fw.Errors
		}
	}

	// Changes come in bursts (an editor's save, a git pull): reload once
	// they have settled.
	const settle = 250 * time.Millisecond
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			w.log.Info("SIGHUP: reloading rules")
			w.reload()
		case <-w.trigger:
			w.reload()
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Has(fsnotify.Create) {
				// New directories are watched as they appear.
				if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
					w.addTree(fw, ev.Name)
				}
			}
			timer = time.After(settle)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			w.log.Warn("watching rule files", "err", err)
		case <-timer:
			timer = nil
			w.reload()
		}
	}
}

func (w *Watcher) watchPaths(fw *fsnotify.Watcher) {
	for _, p := range w.cfg.Paths {
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if st.IsDir() {
			w.addTree(fw, p)
		} else {
			// Watch the file's directory: editors replace files by
			// renaming, which a watch on the file itself would lose.
			_ = fw.Add(filepath.Dir(p))
		}
	}
}

func (w *Watcher) addTree(fw *fsnotify.Watcher, root string) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if err := fw.Add(p); err != nil {
				w.log.Warn("cannot watch rule directory", "dir", p, "err", err)
			}
		}
		return nil
	})
}

// reload loads the rules again and, if anything changed, hands the new
// set to the subscribers.
func (w *Watcher) reload() {
	prev := w.Current()
	set, problems, err := Load(w.cfg, prev)
	if err != nil {
		w.reloads.WithLabelValues("partial").Inc()
		w.log.Error("rules not reloaded; the previous rules keep running", "err", err)
		return
	}
	result := "ok"
	for _, p := range problems {
		if p.Severity == ast.Error {
			result = "partial"
			w.log.Error("rule not loaded; its previous version keeps running", "problem", p.String())
		}
	}
	w.reloads.WithLabelValues(result).Inc()
	if result == "ok" {
		w.lastOK.SetToCurrentTime()
	}
	if maps.Equal(set.Sources, prev.Sources) {
		w.log.Debug("rules unchanged")
		return
	}
	d, c, f := set.Count()
	w.log.Info("rules reloaded", "detection", d, "correlation", c, "filters", f, "files", set.Files)
	w.mu.Lock()
	w.cur = set
	subs := append([]func(*Set){}, w.subs...)
	w.mu.Unlock()
	w.setGauges(set)
	for _, fn := range subs {
		fn(set)
	}
}
