package main

import (
	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/internal/demo"
)

func newDemoCmd() *cobra.Command {
	var (
		o           demo.Options
		printConfig bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline on an embedded broker over bundled sample data",
		Long: `demo starts an embedded Kafka broker, runs every app (file sources, normalize,
detect, console and file sinks), and replays bundled CloudTrail data through
them: real examples from the AWS documentation and a scripted day in two
accounts during which a stolen root password is used. Alerts print as they
arrive; events, alerts and dead letters are written under --out. It exits 0
once everything replayed has been processed and committed; --follow keeps it
running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if printConfig {
				_, err := cmd.OutOrStdout().Write([]byte(demo.Config(o.Out, "127.0.0.1:0", "127.0.0.1:0")))
				return err
			}
			o.Stdout, o.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			sum, err := demo.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			demo.PrintSummary(cmd.ErrOrStderr(), sum)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Out, "out", "vigil-out", "directory for samples, events, alerts and dead letters")
	f.BoolVar(&o.Follow, "follow", false, "keep running after the replay (Ctrl-C stops)")
	f.IntVar(&o.Background, "events", 12000, "routine events in the scripted scenario")
	f.StringVar(&o.Listen, "listen", "127.0.0.1:0", "address of the embedded broker (port 0 picks one)")
	f.StringVar(&o.OpsListen, "ops-listen", "127.0.0.1:0", "address of /metrics, /healthz and /readyz")
	f.StringVar(&o.LogLevel, "log-level", "error", "debug, info, warn or error")
	f.BoolVar(&printConfig, "print-config", false, "print the configuration the demo runs, and exit")
	return cmd
}
