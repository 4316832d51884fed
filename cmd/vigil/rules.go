package main

import (
	"bufio"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/correlators/ruleset"
	"github.com/vigilsec/vigil/correlators/sigma"
	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Check and test Sigma detection and correlation rules",
	}
	cmd.AddCommand(newRulesLintCmd(), newRulesTestCmd())
	return cmd
}

func newRulesLintCmd() *cobra.Command {
	var (
		quiet   bool
		cfgPath string
	)
	cmd := &cobra.Command{
		Use:   "lint PATH...",
		Short: "Report every problem in Sigma rule files",
		Long: `lint reads Sigma rules (detection rules, correlation rules and filters) from
the files named, and from the *.yml and *.yaml files under the directories
named, recursively, and prints one line per problem:

    FILE:LINE:COL: error|warning: message

then a summary. It checks each document against the Sigma specification and
its JSON schemas (required attributes, modifiers, conditions, correlation
types, timespans, aliases, the retired aggregation syntax, ...) and the rules
together (duplicate ids and names, references between rules). A detection
rule whose logsource maps to no dataset (the rules.logsources of the config
--config names, or the default mapping) gets a warning: it would not run.

Exit status: 0 when no rule has an error (warnings allowed), 1 when some
has, 2 on usage errors (such as a path that does not exist).`,
		RunE: func(cmd *cobra.Command, paths []string) error {
			if len(paths) == 0 {
				return usageErr("rules lint: name at least one rule file or directory")
			}
			logsources := ruleset.DefaultLogsources
			if cfgPath != "" {
				cfg, err := config.Load(cfgPath)
				if err != nil {
					return usageErr("rules lint: %v", err)
				}
				logsources = cfg.Rules.Logsources
			}
			rules, problems, files, err := sigma.Lint(paths...)
			if err != nil {
				return usageErr("rules lint: %v", err)
			}
			problems = append(problems, ruleset.LogsourceProblems(sigma.Usable(rules, problems), logsources)...)
			sigma.SortProblems(problems)
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			var errs, warns int
			for _, p := range problems {
				if p.Severity == ast.Error {
					errs++
				} else {
					warns++
					if quiet {
						continue
					}
				}
				fmt.Fprintln(out, p.String())
			}
			fmt.Fprintf(out, "%s, %s: %s, %s\n", rulesPlural(files, "file"), rulesPlural(len(rules), "rule"), rulesPlural(errs, "error"), rulesPlural(warns, "warning"))
			if errs > 0 {
				out.Flush()
				return &exitError{code: 1, err: fmt.Errorf("rules lint: %s", rulesPlural(errs, "error"))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print errors only (warnings are still counted)")
	cmd.Flags().StringVar(&cfgPath, "config", "", "the config whose rules.logsources map logsources to datasets (default: the built-in mapping)")
	return cmd
}

func rulesPlural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
