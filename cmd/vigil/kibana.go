package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/connectors/sinks/elasticsearch"
)

func newKibanaCmd() *cobra.Command {
	k := &cobra.Command{
		Use:   "kibana",
		Short: "Load vigil's Kibana dashboard",
		Args:  cobra.NoArgs,
	}
	k.AddCommand(newKibanaImportCmd())
	return k
}

// kibanaImportResponse is the answer of Kibana's saved objects import API.
type kibanaImportResponse struct {
	Success      bool `json:"success"`
	SuccessCount int  `json:"successCount"`
	Errors       []struct {
		ID    string `json:"id"`
		Type  string `json:"type"`
		Title string `json:"title"`
		Error struct {
			Type       string `json:"type"`
			Message    string `json:"message"`
			References []struct {
				Type string `json:"type"`
				ID   string `json:"id"`
			} `json:"references"`
		} `json:"error"`
	} `json:"errors"`
}

func newKibanaImportCmd() *cobra.Command {
	var (
		kibanaURL string
		space     string
		file      string
		cfgPath   string
		sink      string
		caFile    string
		insecure  bool
	)
	cmd := &cobra.Command{
		Use:   "import [--url URL] [--space SPACE] [--file FILE]",
		Short: "Import vigil's dashboard, visualizations and data views into Kibana",
		Long: `import loads vigil's Kibana content (deploy/kibana/vigil.ndjson, built into
vigil) into Kibana with the saved objects import API, replacing the objects
an earlier import made: the data views of vigil's data streams
(logs-<dataset>-*), one visualization, saved search or map per panel, and
the dashboard "vigil: AWS security".

Credentials come from the environment: VIGIL_KIBANA_API_KEY (an encoded
API key), or VIGIL_KIBANA_USERNAME and VIGIL_KIBANA_PASSWORD; failing
those, from the Elasticsearch sink of the config file (--config or
VIGIL_CONFIG), as Kibana accepts Elasticsearch's users and API keys.

Exit status: 0 when every object was imported, 1 otherwise, 2 on usage
errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kibanaURL == "" {
				kibanaURL = os.Getenv("VIGIL_KIBANA_URL")
			}
			if kibanaURL == "" {
				kibanaURL = "http://localhost:5601"
			}
			u, err := url.Parse(kibanaURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return usageErr("--url %q must be an http:// or https:// URL", kibanaURL)
			}
			var ndjson []byte
			if file != "" {
				if ndjson, err = os.ReadFile(file); err != nil {
					return usageErr("--file: %v", err)
				}
			} else if ndjson, err = elasticsearch.SavedObjects(); err != nil {
				return err
			}
			auth, err := kibanaAuth(cfgPath, sink)
			if err != nil {
				return err
			}

			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			part, err := mw.CreateFormFile("file", "vigil.ndjson")
			if err != nil {
				return err
			}
			part.Write(ndjson)
			mw.Close()
			base := strings.TrimSuffix(u.String(), "/")
			if space != "" && space != "default" {
				base += "/s/" + url.PathEscape(space)
			}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, base+"/api/saved_objects/_import?overwrite=true", &body)
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("kbn-xsrf", "vigil")
			if auth != nil {
				auth(req)
			}
			tc, err := elasticsearch.TLSConfig(elasticsearch.TLS{CAFile: caFile, InsecureSkipVerify: insecure})
			if err != nil {
				return usageErr("%v", err)
			}
			client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment}}
			res, err := client.Do(req)
			if err != nil {
				return fmt.Errorf("kibana: %w", err)
			}
			defer res.Body.Close()
			rb, _ := io.ReadAll(io.LimitReader(res.Body, 4<<20))
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("kibana: %s: %s", res.Status, strings.TrimSpace(string(rb)))
			}
			var ir kibanaImportResponse
			if err := json.Unmarshal(rb, &ir); err != nil {
				return fmt.Errorf("kibana: reading the import response: %w", err)
			}
			out := cmd.OutOrStdout()
			spaceName := space
			if spaceName == "" {
				spaceName = "default"
			}
			fmt.Fprintf(out, "imported %d saved objects into space %s\n", ir.SuccessCount, spaceName)
			for _, e := range ir.Errors {
				msg := e.Error.Type
				if e.Error.Message != "" {
					msg += ": " + e.Error.Message
				}
				for _, r := range e.Error.References {
					msg += fmt.Sprintf(" (missing %s %s)", r.Type, r.ID)
				}
				fmt.Fprintf(out, "failed %s %s %q: %s\n", e.Type, e.ID, e.Title, msg)
			}
			if !ir.Success || len(ir.Errors) > 0 {
				return &exitError{code: 1, err: fmt.Errorf("kibana: %d saved objects not imported", len(ir.Errors))}
			}
			if file == "" {
				fmt.Fprintf(out, "dashboard: %s/app/dashboards#/view/%s\n", base, elasticsearch.KibanaDashboardID)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kibanaURL, "url", "", "Kibana's URL (default $VIGIL_KIBANA_URL or http://localhost:5601)")
	cmd.Flags().StringVar(&space, "space", "", "Kibana space to import into (default: the default space)")
	cmd.Flags().StringVar(&file, "file", "", "saved objects NDJSON to import instead of vigil's")
	cmd.Flags().StringVar(&cfgPath, "config", "", "config file whose elasticsearch sink's credentials to use (default $VIGIL_CONFIG)")
	cmd.Flags().StringVar(&sink, "sink", "", "which elasticsearch sink of the config, when it has several")
	cmd.Flags().StringVar(&caFile, "ca-file", "", "PEM CA bundle to trust for an https URL")
	cmd.Flags().BoolVar(&insecure, "insecure-skip-verify", false, "do not check Kibana's certificate (tests only)")
	return cmd
}

// kibanaAuth returns how to authenticate to Kibana: from the environment,
// else from the config's Elasticsearch sink, else not at all.
func kibanaAuth(cfgPath, sink string) (func(*http.Request), error) {
	if key := os.Getenv("VIGIL_KIBANA_API_KEY"); key != "" {
		return func(r *http.Request) { r.Header.Set("Authorization", "ApiKey "+key) }, nil
	}
	if user := os.Getenv("VIGIL_KIBANA_USERNAME"); user != "" {
		pw := os.Getenv("VIGIL_KIBANA_PASSWORD")
		return func(r *http.Request) { r.SetBasicAuth(user, pw) }, nil
	}
	if cfgPath == "" && os.Getenv("VIGIL_CONFIG") == "" {
		return nil, nil
	}
	c, err := esSinkConfig(cfgPath, sink)
	if err != nil {
		return nil, err
	}
	switch {
	case c.APIKey.IsSet():
		key, err := c.APIKey.Value()
		if err != nil {
			return nil, usageErr("elasticsearch sink api_key: %v", err)
		}
		return func(r *http.Request) { r.Header.Set("Authorization", "ApiKey "+key) }, nil
	case c.Username != "":
		pw := ""
		if c.Password.IsSet() {
			if pw, err = c.Password.Value(); err != nil {
				return nil, usageErr("elasticsearch sink password: %v", err)
			}
		}
		return func(r *http.Request) { r.SetBasicAuth(c.Username, pw) }, nil
	}
	return nil, nil
}
