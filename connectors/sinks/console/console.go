// Package console is a sink that prints records for a person at a terminal:
// alerts as one readable line each (time, severity, rule, who, where),
// dead letters with their origin and reason, events as a short summary.
package console

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/connectors/sinks"
	"github.com/vigilsec/vigil/ecs"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/streams"
)

// Config configures a console sink.
type Config struct {
	sinks.Common `yaml:",inline"`
	// Color is auto (when writing to a terminal), always or never. Default
	// "auto".
	Color string `yaml:"color"`
}

// Validate implements plugin.Validator.
func (c *Config) Validate() []error {
	errs := c.Common.Validate()
	switch c.Color {
	case "auto", "always", "never":
	default:
		errs = append(errs, fmt.Errorf("color %q must be auto, always or never", c.Color))
	}
	return errs
}

func init() {
	plugin.Register(plugin.Spec{
		Kind:    plugin.Sink,
		Name:    "console",
		Summary: "prints alerts, dead letters and events readably on standard output",
		Config: func() any {
			return &Config{Common: sinks.Common{Topics: []string{"alerts"}, Guarantee: "at_least_once"}, Color: "auto"}
		},
		New: func(cfg any, d plugin.Deps) (plugin.Component, error) {
			c := cfg.(*Config)
			out := d.Stdout
			if out == nil {
				out = os.Stdout
			}
			p := &Printer{w: out, color: useColor(c.Color, out), dlq: d.Topics.DLQ()}
			return sinks.NewApp(c.Common, d, p)
		},
	})
}

func useColor(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(interface{ Fd() uintptr })
	return ok && isatty.IsTerminal(f.Fd())
}

// Printer is the console sink's processor.
type Printer struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
	dlq   string
}

// NewPrinter returns a printer writing to w.
func NewPrinter(w io.Writer, color bool, dlqTopic string) *Printer {
	return &Printer{w: w, color: color, dlq: dlqTopic}
}

// Process implements streams.Processor.
func (p *Printer) Process(_ *streams.Context, r *kgo.Record) error {
	var line string
	switch {
	case r.Topic == p.dlq:
		line = p.deadLetter(r)
	default:
		var probe struct {
			Event struct {
				Dataset string `json:"dataset"`
			} `json:"event"`
		}
		if json.Unmarshal(r.Value, &probe) != nil {
			line = fmt.Sprintf("%s  %s", r.Topic, oneLine(string(r.Value), 200))
			break
		}
		// vigil's own alerts; normalized events may be a tool's alerts
		// (event.kind alert) and print as events.
		if probe.Event.Dataset == "vigil.alerts" {
			var a ecs.Alert
			if err := json.Unmarshal(r.Value, &a); err != nil {
				return fmt.Errorf("decode alert: %w", err)
			}
			line = FormatAlert(&a, p.color)
		} else {
			var ev ecs.Event
			if err := json.Unmarshal(r.Value, &ev); err != nil {
				return fmt.Errorf("decode event: %w", err)
			}
			line = FormatEvent(&ev)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := io.WriteString(p.w, line+"\n")
	return err
}

func (p *Printer) deadLetter(r *kgo.Record) string {
	tag := "DEAD-LETTER"
	if p.color {
		tag = "\x1b[35m" + tag + "\x1b[0m"
	}
	return fmt.Sprintf("%s  %s  %s  (from %s)", tag, streams.Origin(r),
		oneLine(streams.Header(r, streams.HeaderError), 300), streams.Header(r, streams.HeaderApp))
}

var levelColor = map[string]string{
	"informational": "\x1b[37m",
	"low":           "\x1b[36m",
	"medium":        "\x1b[33m",
	"high":          "\x1b[31m",
	"critical":      "\x1b[1;41;97m",
}

// FormatAlert renders an alert as one line: time, severity, rule, who,
// where.
func FormatAlert(a *ecs.Alert, color bool) string {
	level := strings.ToUpper(a.Vigil.Level)
	lv := fmt.Sprintf("%-8s", level)
	if c, ok := levelColor[a.Vigil.Level]; ok && color {
		lv = c + lv + "\x1b[0m"
	}
	var b strings.Builder
	b.WriteString(a.Timestamp.UTC().Format(time.DateTime))
	b.WriteString("  ")
	b.WriteString(lv)
	b.WriteString("  ")
	if color {
		b.WriteString("\x1b[1m" + a.Rule.Name + "\x1b[0m")
	} else {
		b.WriteString(a.Rule.Name)
	}
	if a.Vigil.Kind == "correlation" {
		formatCorrelation(&b, a)
		return b.String()
	}
	b.WriteString("  who=")
	if a.User != nil && a.User.Name != "" {
		b.WriteString(a.User.Name)
	} else {
		b.WriteString("-")
	}
	if a.Cloud != nil && a.Cloud.Account != nil && a.Cloud.Account.ID != "" {
		b.WriteString(" account=" + a.Cloud.Account.ID)
	}
	if a.Source != nil {
		from := a.Source.IP
		if from == "" {
			from = a.Source.Address
		}
		if from != "" {
			b.WriteString(" from=" + from)
			if g := a.Source.Geo; g != nil && (g.CityName != "" || g.CountryISOCode != "") {
				b.WriteString(" (" + strings.Trim(g.CityName+", "+g.CountryISOCode, ", ") + ")")
			}
		}
	}
	if a.Cloud != nil && a.Cloud.Region != "" {
		b.WriteString(" region=" + a.Cloud.Region)
	}
	if a.Event.Action != "" {
		b.WriteString(" action=" + a.Event.Action)
		if a.Event.Outcome != "" {
			b.WriteString("/" + a.Event.Outcome)
		}
	}
	if a.Vigil.Count > 1 {
		fmt.Fprintf(&b, " events=%d", a.Vigil.Count)
	}
	return b.String()
}

// formatCorrelation writes what a correlation alert is about: its group,
// its window, how many events made it and the value its condition tested.
func formatCorrelation(b *strings.Builder, a *ecs.Alert) {
	names := make([]string, 0, len(a.Vigil.Group))
	for k := range a.Vigil.Group {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := a.Vigil.Group[k]
		if v == "" {
			v = "-"
		}
		b.WriteString("  " + k + "=" + v)
	}
	if w := a.Vigil.Window; w != nil {
		fmt.Fprintf(b, " window=%s..%s", w.Start.UTC().Format(time.TimeOnly), w.End.UTC().Format(time.TimeOnly))
	}
	fmt.Fprintf(b, " events=%d", a.Vigil.Count)
	if a.Vigil.Value != nil {
		b.WriteString(" value=" + strconv.FormatFloat(*a.Vigil.Value, 'g', 6, 64))
		if a.Vigil.Field != "" {
			b.WriteString(" (" + a.Vigil.Field)
			if a.Vigil.FieldValue != "" {
				b.WriteString("=" + a.Vigil.FieldValue)
			}
			b.WriteString(")")
		}
	}
}

// FormatEvent renders an event as one short line.
func FormatEvent(ev *ecs.Event) string {
	var b strings.Builder
	b.WriteString(ev.Timestamp.UTC().Format(time.DateTime))
	b.WriteString("  " + ev.Event.Dataset + "  " + ev.Event.Action)
	if ev.Event.Outcome != "" {
		b.WriteString("/" + ev.Event.Outcome)
	}
	if ev.User != nil && ev.User.Name != "" {
		b.WriteString("  user=" + ev.User.Name)
	}
	if ev.Source != nil && ev.Source.Address != "" {
		b.WriteString("  from=" + ev.Source.Address)
	}
	return b.String()
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
