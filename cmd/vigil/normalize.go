package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/connectors/sources/framing"
	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/geoip"
)

func newNormalizeCmd() *cobra.Command {
	var (
		source       string
		format       string
		headerLine   bool
		keepOriginal bool
		geoCity      []string
		geoASN       []string
		internal     []string
	)
	cmd := &cobra.Command{
		Use:   "normalize --source NAME [FILE...]",
		Short: "Normalize raw events from files or standard input to ECS JSON lines",
		Long: `normalize reads raw events of one source from files, or standard input when
no file (or "-") is given, in any form the file source reads (JSON lines,
arrays, CloudTrail log files, concatenated values, CSV; gzip too), and
writes one ECS document per line to standard output: the same code as the
normalize app. Each record that cannot be normalized gives one line on
standard error with its origin (file:line) and the reason; the rest go on.

Exit status: 0 when every record normalized (or was deliberately skipped,
such as a CloudTrail digest file), 1 when some failed, 2 on usage errors.`,
		RunE: func(cmd *cobra.Command, files []string) error {
			dec, ok := normalize.Lookup(source)
			if !ok {
				return usageErr("--source %q: known sources are %s", source, strings.Join(normalize.Sources(), ", "))
			}
			f, err := framing.ParseFormat(format)
			if err != nil {
				return usageErr("--format: %v", err)
			}
			var geo *geoip.DB
			if len(geoCity)+len(geoASN) > 0 {
				if geo, err = geoip.Open(geoCity, geoASN); err != nil {
					return usageErr("%v", err)
				}
				defer geo.Close()
			}
			enricher, err := normalize.NewEnricher(geo, internal)
			if err != nil {
				return usageErr("--internal-cidr: %v", err)
			}
			opts := normalize.StreamOptions{Format: f, KeepOriginal: keepOriginal, Enricher: enricher}
			if len(files) == 0 {
				files = []string{"-"}
			}
			out := bufio.NewWriterSize(cmd.OutOrStdout(), 256<<10)
			defer out.Flush()
			stderr := cmd.ErrOrStderr()
			failed := 0
			for _, name := range files {
				var r io.Reader = cmd.InOrStdin()
				display := "stdin"
				if name != "-" {
					fh, err := os.Open(name)
					if err != nil {
						fmt.Fprintf(stderr, "%s: %v\n", name, err)
						failed++
						continue
					}
					r, display = fh, name
					defer fh.Close()
				}
				opts.HeaderLine = headerLine
				if !cmd.Flags().Changed("header-line") {
					opts.HeaderLine = framing.DefaultHeaderLine(source, framing.ForPath(name, f))
				}
				err := normalize.DecodeStream(r, display, dec, opts, func(res normalize.Result) {
					switch {
					case res.Event != nil:
						b, err := normalize.Marshal(res.Event)
						if err != nil {
							fmt.Fprintf(stderr, "%s: encode: %v\n", res.Origin, err)
							failed++
							return
						}
						out.Write(b)
						out.WriteByte('\n')
					case res.Skipped:
					default:
						fmt.Fprintf(stderr, "%s: %v\n", res.Origin, res.Err)
						failed++
					}
				})
				if err != nil {
					fmt.Fprintf(stderr, "%s: %v; the rest of it is not read\n", display, err)
					failed++
				}
			}
			if failed > 0 {
				out.Flush()
				noun := "records"
				if failed == 1 {
					noun = "record"
				}
				return &exitError{code: 1, err: fmt.Errorf("%d %s could not be normalized", failed, noun)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&source, "source", "s", "", "the source the events come from: "+strings.Join(normalize.Sources(), ", ")+" (required)")
	f.StringVar(&format, "format", "auto", "auto, lines, array, records, values or csv (auto: csv for *.csv and *.csv.gz files)")
	f.BoolVar(&headerLine, "header-line", false, "treat each file's first line as the header naming its fields (default: true for CSV files and for vpcflow)")
	f.BoolVar(&keepOriginal, "keep-original", true, "keep the raw event in event.original")
	f.StringSliceVar(&geoCity, "geoip-city", nil, "GeoIP city database (.mmdb); repeatable")
	f.StringSliceVar(&geoASN, "geoip-asn", nil, "GeoIP ASN database (.mmdb); repeatable")
	f.StringSliceVar(&internal, "internal-cidr", nil, "internal network, for network.direction; repeatable (default: private ranges)")
	_ = cmd.MarkFlagRequired("source")
	return cmd
}
