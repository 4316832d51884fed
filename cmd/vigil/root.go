package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/plugin"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "vigil",
		Short: "Kafka-native streaming security correlation for cloud estates",
		Long: `vigil brings AWS security telemetry (CloudTrail, VPC Flow Logs, GuardDuty, Macie,
Prowler, Falco, Wazuh) into Kafka, normalizes it to the Elastic Common Schema,
evaluates detection and correlation rules over event-time windows, and writes
alerts and events to Elasticsearch, files and notifications.

Start with "vigil demo", which runs the whole pipeline on an embedded broker.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCmd(), newBrokerCmd(), newRunCmd(), newDemoCmd(), newComponentsCmd(), newNormalizeCmd(), newRulesCmd(), newIngestCmd(), newTopicsCmd())
	root.AddCommand(newESCmd())
	root.AddCommand(newKibanaCmd())
	return root
}

func versionString() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok {
			if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v += "+" + s.Value[:12]
				}
			}
		}
	}
	return v
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "vigil", versionString())
		},
	}
}

func newComponentsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "components",
		Short: "List the component types this binary has",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			w := cmd.OutOrStdout()
			for _, k := range plugin.Kinds {
				fmt.Fprintf(w, "%s:\n", k.Section())
				for _, s := range plugin.List(k) {
					fmt.Fprintf(w, "  %-14s %s\n", s.Name, s.Summary)
				}
			}
		},
	}
}

// loadConfig reads the config file named by path, or by VIGIL_CONFIG, or
// returns the defaults.
func loadConfig(path string) (*config.Config, string, error) {
	if path == "" {
		path = os.Getenv("VIGIL_CONFIG")
	}
	if path == "" {
		c, err := config.Default()
		return c, "", err
	}
	c, err := config.Load(path)
	return c, path, err
}

func usageErr(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func joinNames(names []string) string { return strings.Join(names, ", ") }
