package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/connectors/sinks/elasticsearch"
	"github.com/vigilsec/vigil/plugin"
)

func newESCmd() *cobra.Command {
	es := &cobra.Command{
		Use:   "es",
		Short: "Prepare Elasticsearch for vigil's data",
		Args:  cobra.NoArgs,
	}
	es.AddCommand(newESSetupCmd())
	return es
}

func newESSetupCmd() *cobra.Command {
	var (
		cfgPath string
		sink    string
		urls    []string
		dryRun  bool
	)
	cmd := &cobra.Command{
		Use:   "setup [--config FILE] [--sink NAME] [--url URL]...",
		Short: "Install the index templates, ECS mappings and ILM policy of vigil's data streams",
		Long: `setup installs in Elasticsearch what vigil's data streams need, for the
Elasticsearch sink of the config file (its URLs, credentials, TLS, index
pattern, namespace and ilm settings; the defaults without one):

  - an ILM policy: rollover at ilm.rollover_max_age or
    ilm.rollover_max_primary_shard_size, deletion ilm.delete_after later;
  - component templates: ECS mappings shared by every dataset (ip for
    addresses, geo_point for *.geo.location, keyword for identifiers, date
    for times), each dataset's own, and the settings;
  - an index template per dataset (aws.cloudtrail, aws.vpcflow, ...,
    vigil.alerts, vigil.remediation) that makes its data stream.

It replaces what an earlier run installed, so running it again is safe.
Against a server that has only part of Elasticsearch's API (ZincSearch),
what it lacks is skipped with a note and the index templates carry their
mappings inline.

Exit status: 0 when everything was installed or skipped, 1 when something
failed, 2 on usage errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := esSinkConfig(cfgPath, sink)
			if err != nil {
				return err
			}
			if len(urls) > 0 {
				c.URLs = urls
			}
			if errs := c.Validate(); len(errs) > 0 {
				return usageErr("%v", errors.Join(errs...))
			}
			steps, err := elasticsearch.Plan(c)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if dryRun {
				for _, s := range steps {
					b, _ := json.MarshalIndent(s.Body, "", "  ")
					fmt.Fprintf(out, "PUT /%s\n%s\n\n", s.Path, b)
				}
				return nil
			}
			client, err := elasticsearch.NewClient(c)
			if err != nil {
				return usageErr("%v", err)
			}
			info, err := elasticsearch.ServerInfo(cmd.Context(), client)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "server %q (version %s) at %s\n", info.Name, info.Version.Number, c.URLs[0])
			results, err := elasticsearch.Install(cmd.Context(), client, steps)
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			for _, r := range results {
				note := ""
				if r.Note != "" {
					note = "  " + r.Note
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Status, r.Kind, r.Name, note)
			}
			w.Flush()
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			var streams []string
			for _, d := range elasticsearch.Datasets {
				streams = append(streams, elasticsearch.IndexName(c.Index, d.Name, c.Namespace))
			}
			sort.Strings(streams)
			fmt.Fprintf(out, "data streams, created by the first document of each: %s\n", joinNames(streams))
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "config file with an elasticsearch sink (default $VIGIL_CONFIG)")
	cmd.Flags().StringVar(&sink, "sink", "", "which elasticsearch sink of the config, when it has several")
	cmd.Flags().StringSliceVar(&urls, "url", nil, "Elasticsearch URL, instead of the sink's urls")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the requests instead of sending them")
	return cmd
}

// esSinkConfig returns the config of the elasticsearch sink named sink (or
// the only one) of the config file, or the sink's defaults when the file
// has none.
func esSinkConfig(path, sink string) (*elasticsearch.Config, error) {
	c, _, err := loadConfig(path)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return nil, usageErr("%v", err)
		}
		return nil, err
	}
	var found []*config.Component
	for _, comp := range c.Components() {
		if comp.Kind == plugin.Sink && comp.Type == "elasticsearch" && (sink == "" || comp.Name == sink) {
			found = append(found, comp)
		}
	}
	switch {
	case len(found) == 0 && sink != "":
		return nil, usageErr("--sink %q: the config has no elasticsearch sink of that name", sink)
	case len(found) == 0:
		return elasticsearch.DefaultConfig(), nil
	case len(found) > 1:
		var names []string
		for _, f := range found {
			names = append(names, f.Name)
		}
		return nil, usageErr("the config has several elasticsearch sinks (%s): choose one with --sink", joinNames(names))
	}
	return found[0].Config.(*elasticsearch.Config), nil
}
