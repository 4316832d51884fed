package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/internal/engine"
	"github.com/vigilsec/vigil/ops"
)

func newRunCmd() *cobra.Command {
	var (
		path        string
		apps        []string
		checkConfig bool
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the sources, stream apps and sinks the configuration enables",
		Long: `run runs vigil's components against a Kafka cluster: every enabled source, app
and sink, or only those named with --app (once per Kubernetes Deployment, say).
Each app and sink is its own consumer group; run more processes with the same
configuration to add capacity. With no kafka.brokers configured, an embedded
broker is started in the process.

The configuration comes from --config, else $VIGIL_CONFIG, else the defaults.
SIGTERM or SIGINT drains: the batch in hand is finished and committed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, name, err := loadConfig(path)
			if checkConfig {
				if err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					return &exitError{code: 2, err: fmt.Errorf("configuration is invalid")}
				}
				if _, err := engine.Selected(cfg, apps); err != nil {
					return usageErr("%v", err)
				}
				if name == "" {
					name = "the default configuration"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s is valid\n", name)
				return nil
			}
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			log, err := ops.NewLogger(os.Stderr, cfg.Log.Level, cfg.Log.Format)
			if err != nil {
				return usageErr("%v", err)
			}
			if _, err := engine.Selected(cfg, apps); err != nil {
				return usageErr("%v", err)
			}
			return engine.Run(cmd.Context(), cfg, engine.Options{
				Only:   apps,
				Logger: log,
				Started: func(i engine.Info) {
					log.Info("vigil running", "version", versionString(), "brokers", i.Brokers, "embedded_broker", i.Embedded, "components", joinNames(i.Components))
				},
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&path, "config", "c", "", "config file (default $VIGIL_CONFIG, else built-in defaults)")
	f.StringSliceVar(&apps, "app", nil, "run only this component (repeatable)")
	f.BoolVar(&checkConfig, "check-config", false, "check the configuration, print every problem, and exit")
	return cmd
}
