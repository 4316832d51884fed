package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/broker"
	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/connectors/sources/s3"
	"github.com/vigilsec/vigil/internal/term"
	"github.com/vigilsec/vigil/kafka"
	"github.com/vigilsec/vigil/ops"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/topics"
)

func newIngestCmd() *cobra.Command {
	var (
		path, source, since, endpoint, region, name, format string
		commitRecords                                       int
	)
	cmd := &cobra.Command{
		Use:   "ingest s3://BUCKET[/PREFIX] --source SOURCE [--since YYYY-MM-DD]",
		Short: "Backfill: publish a bucket's objects to Kafka once, with progress, and exit",
		Long: `ingest publishes every object under s3://BUCKET/PREFIX to vigil.raw.<source>, as
an s3 source in poll mode does (same key layouts, exactly once, digest files
skipped), lists once, and exits when everything listed is published. On a
terminal it shows progress (objects done of found, bytes, records per second);
otherwise it logs a progress line every 10 seconds.

Kafka comes from the configuration (--config, else $VIGIL_CONFIG); with no
kafka.brokers an embedded broker runs in the process, which keeps the records
only as long as it runs (or in kafka.embedded.data_dir). Progress is kept in
Kafka under --name (default ingest-<source>-<bucket>): running the same
command again publishes only what is new, and one interrupted resumes.
AWS credentials and region come from the AWS SDK's default chain
(AWS_ACCESS_KEY_ID, AWS_PROFILE, roles, ...) unless --region is given.

Exit status: 0 when everything listed was published, 1 when some prefix or
object could not be read (run again to resume), 2 on usage errors.`,
		Example: `  vigil ingest s3://my-cloudtrail-bucket/AWSLogs/ --source cloudtrail --since 2026-01-01
  vigil ingest s3://flow-logs --source vpcflow --config vigil.yaml
  vigil ingest s3://test-bucket --source guardduty --endpoint http://127.0.0.1:7070`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := url.Parse(args[0])
			if err != nil || u.Scheme != "s3" || u.Host == "" {
				return usageErr("%q is not an s3://bucket/prefix URL", args[0])
			}
			cfg, _, err := loadConfig(path)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			sc := s3.DefaultConfig()
			sc.Source, sc.Bucket, sc.Prefix = source, u.Host, strings.TrimPrefix(u.Path, "/")
			sc.Since, sc.Endpoint, sc.Region, sc.Format = since, endpoint, region, format
			sc.CommitRecords = commitRecords
			if errs := sc.Validate(); len(errs) > 0 {
				var msgs []string
				for _, e := range errs {
					msgs = append(msgs, e.Error())
				}
				return usageErr("%s", strings.Join(msgs, "; "))
			}
			if name == "" {
				name = ingestName(source, u.Host)
			}
			if err := topics.ValidName(name); err != nil {
				return usageErr("--name: %v", err)
			}
			st := term.New(cmd.OutOrStdout(), os.Stderr)
			logFormat := cfg.Log.Format
			if logFormat == "auto" || logFormat == "" {
				logFormat = "json"
				if st.TTY() {
					logFormat = "text"
				}
			}
			log, err := ops.NewLogger(st.Logs(), cfg.Log.Level, logFormat)
			if err != nil {
				return usageErr("%v", err)
			}
			return runIngest(cmd.Context(), st, log, cfg, sc, name)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&path, "config", "c", "", "config file for Kafka and topics (default $VIGIL_CONFIG, else built-in defaults)")
	f.StringVar(&source, "source", "", "raw topic and decoder: cloudtrail, vpcflow, guardduty, macie, ... (required)")
	f.StringVar(&since, "since", "", "only objects of this day (YYYY-MM-DD) and later")
	f.StringVar(&endpoint, "endpoint", "", "URL of an S3-compatible service (MinIO, versitygw), path-style")
	f.StringVar(&region, "region", "", "the bucket's region (default: the AWS SDK's, else us-east-1)")
	f.StringVar(&name, "name", "", "progress is kept under this name (default ingest-<source>-<bucket>)")
	f.StringVar(&format, "format", "auto", "auto, lines, array, records, values or csv")
	f.IntVar(&commitRecords, "commit-records", 10000, "most records in one Kafka transaction")
	_ = cmd.MarkFlagRequired("source")
	return cmd
}

// ingestName is the default progress name of a backfill.
func ingestName(source, bucket string) string {
	n := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, "ingest-"+source+"-"+bucket)
	if len(n) > 100 {
		n = n[:100]
	}
	return n
}

func runIngest(ctx context.Context, st *term.Term, log *slog.Logger, cfg *config.Config, sc s3.Config, name string) error {
	seeds := cfg.Kafka.Brokers
	if len(seeds) == 0 {
		b, err := broker.Start(broker.Options{
			Listen: cfg.Kafka.Embedded.Listen, DataDir: cfg.Kafka.Embedded.DataDir,
			Partitions: int(cfg.Topics.Partitions), Logger: log.With("app", "broker"),
		})
		if err != nil {
			return err
		}
		defer b.Close()
		seeds = []string{b.Addr()}
		log.Warn("no kafka.brokers configured: publishing to an embedded broker, which keeps the records only while this command runs (or in kafka.embedded.data_dir)", "addr", b.Addr())
	}
	base, err := kafka.ClientOptions(cfg.Kafka, seeds)
	if err != nil {
		return err
	}
	src, err := s3.New(sc, plugin.Deps{
		Name: name, Kafka: base, Topics: cfg.Topics.Names(), Partitions: cfg.Topics.Partitions,
		TransactionTimeout: cfg.Kafka.TransactionTimeout, Logger: log.With("app", name),
	})
	if err != nil {
		return usageErr("%v", err)
	}
	if cfg.Topics.Create {
		cl, err := kgo.NewClient(base...)
		if err != nil {
			return err
		}
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = kafka.EnsureTopics(tctx, kadm.NewClient(cl), cfg.Topics.ReplicationFactor, src.Topics())
		cancel()
		cl.Close()
		if err != nil {
			return fmt.Errorf("create topics: %w", err)
		}
	}

	log.Info("ingesting", "bucket", sc.Bucket, "prefix", sc.Prefix, "since", sc.Since, "topic", cfg.Topics.Names().Raw(sc.Source), "name", name)
	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		reportProgress(src, st, log, start, stop)
	}()
	err = src.Once(ctx)
	close(stop)
	wg.Wait()
	st.Clear()
	s := src.Stats()
	elapsed := time.Since(start)
	fmt.Fprintf(st.Output(), "vigil ingest: %d objects (%s) published, %d records in %s (%.0f records/s) to %s\n",
		s.ObjectsDone, humanBytes(s.BytesDone), s.Records, elapsed.Round(time.Millisecond),
		float64(s.Records)/elapsed.Seconds(), cfg.Topics.Names().Raw(sc.Source))
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: 1, err: fmt.Errorf("interrupted; run the same command again to resume")}
		}
		return err
	}
	return nil
}

// reportProgress redraws the status line on a terminal, or logs a line
// every 10 seconds, until stop is closed.
func reportProgress(src *s3.Source, st *term.Term, log *slog.Logger, start time.Time, stop <-chan struct{}) {
	every := 10 * time.Second
	if st.TTY() {
		every = 200 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	lastRecords, lastTime := int64(0), start
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			s := src.Stats()
			rate := float64(s.Records-lastRecords) / now.Sub(lastTime).Seconds()
			if !st.TTY() || now.Sub(lastTime) >= time.Second {
				lastRecords, lastTime = s.Records, now
			}
			if st.TTY() {
				st.Status(progressLine(s, rate))
			} else {
				log.Info("ingest progress", "objects_done", s.ObjectsDone, "objects_found", s.ObjectsFound, "listing", s.Listing,
					"bytes_done", s.BytesDone, "bytes_found", s.BytesFound, "records", s.Records, "records_per_second", int64(rate))
			}
		}
	}
}

// progressLine is the terminal status line: a bar of objects done out of
// found, bytes, records and their rate.
func progressLine(s s3.Stats, rate float64) string {
	const width = 24
	frac := 0.0
	if s.BytesFound > 0 {
		frac = float64(s.BytesDone) / float64(s.BytesFound)
	}
	filled := min(int(frac*width), width)
	found := fmt.Sprint(s.ObjectsFound)
	if s.Listing {
		found += "+ (listing)"
	}
	return fmt.Sprintf("[%s%s] objects %d/%s  %s/%s  %d records  %.0f records/s",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		s.ObjectsDone, found, humanBytes(s.BytesDone), humanBytes(s.BytesFound), s.Records, rate)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
