package elasticsearch

import (
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/esutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/plugin"
	"github.com/vigilsec/vigil/topics"
)

func testIndexer(t *testing.T) *Indexer {
	t.Helper()
	ix, err := NewIndexer(DefaultConfig(), plugin.Deps{Name: "es", Topics: topics.Names{Prefix: "vigil"}})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestRoute(t *testing.T) {
	ix := testIndexer(t)
	long := strings.Repeat("x", 600)
	for _, tc := range []struct {
		name, topic, value string
		index, id          string
		err                string
	}{
		{name: "event", topic: "vigil.events.cloudtrail",
			value: `{"@timestamp":"2026-01-01T00:00:00Z","event":{"dataset":"aws.cloudtrail","id":"e-1"}}`,
			index: "logs-aws.cloudtrail-vigil", id: "e-1"},
		{name: "alert", topic: "vigil.alerts",
			value: `{"@timestamp":"2026-01-01T00:00:00Z","event":{"id":"0123456789abcdef0123456789abcdef","dataset":"vigil.alerts","kind":"alert"}}`,
			index: "logs-vigil.alerts-vigil", id: "0123456789abcdef0123456789abcdef"},
		{name: "remediation result", topic: "vigil.remediation.results",
			value: `{"request_id":"aaaabbbbccccddddeeeeffff00001111","@timestamp":"2026-01-01T00:00:00Z","action":"x","status":"succeeded","executor":"e"}`,
			index: "logs-vigil.remediation-vigil", id: "aaaabbbbccccddddeeeeffff00001111"},
		{name: "pretty JSON is compacted, id derived from content", topic: "vigil.events.x",
			value: "{\n \"@timestamp\": \"2026-01-01T00:00:00Z\",\n \"event\": {\"dataset\": \"custom.thing\"}\n}",
			index: "logs-custom.thing-vigil", id: "derived"},
		{name: "an id too long is hashed", topic: "vigil.events.x",
			value: `{"@timestamp":"2026-01-01T00:00:00Z","event":{"dataset":"a.b","id":"` + long + `"}}`,
			index: "logs-a.b-vigil", id: "hash"},
		{name: "not JSON", topic: "vigil.events.x", value: `{"a":`, err: "not a JSON object"},
		{name: "an array", topic: "vigil.events.x", value: `[1]`, err: "not a JSON object"},
		{name: "no dataset", topic: "vigil.events.x", value: `{"@timestamp":"2026-01-01T00:00:00Z","event":{"id":"x"}}`, err: "no event.dataset"},
		{name: "bad dataset", topic: "vigil.events.x", value: `{"@timestamp":"2026-01-01T00:00:00Z","event":{"dataset":"Bad-Name"}}`, err: "cannot name a data stream"},
		{name: "no timestamp", topic: "vigil.events.x", value: `{"event":{"dataset":"a.b","id":"x"}}`, err: "no @timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it, err := ix.route(&kgo.Record{Topic: tc.topic, Value: []byte(tc.value)})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if it.index != tc.index {
				t.Errorf("index = %s, want %s", it.index, tc.index)
			}
			switch tc.id {
			case "hash":
				if len(it.id) != 32 {
					t.Errorf("id = %s, want a 32-character hash", it.id)
				}
			case "derived":
				if len(it.id) != 32 || strings.ContainsRune(string(it.body), '\n') {
					t.Errorf("id %q, body %q", it.id, it.body)
				}
				again, _ := ix.route(&kgo.Record{Topic: tc.topic, Value: []byte(tc.value)})
				if again.id != it.id {
					t.Errorf("derived ids differ: %s, %s", it.id, again.id)
				}
			default:
				if it.id != tc.id {
					t.Errorf("id = %s, want %s", it.id, tc.id)
				}
			}
		})
	}
}

func TestJudge(t *testing.T) {
	ix := testIndexer(t)
	ix.cfg.MaxItemRetries = 2
	for _, tc := range []struct {
		it   item
		want verdict
		why  string
	}{
		{item{done: true, status: 201}, indexed, ""},
		{item{done: true, status: 200}, indexed, ""},
		{item{done: true, status: 409, errType: "version_conflict_engine_exception"}, existed, ""},
		{item{done: true, status: 429}, retry, "throttled"},
		{item{done: true, status: 503}, retry, "server_error"},
		{item{done: true, status: 503, fails: 1}, rejected, ""},
		{item{done: true, status: 400, errType: "mapper_parsing_exception"}, rejected, ""},
		{item{done: true, status: 404, errType: "index_not_found_exception"}, rejected, ""},
		{item{done: true, err: errString("connection refused")}, retry, "unavailable"},
		{item{}, retry, "no_result"},
	} {
		it := tc.it
		v, why := ix.judge(&it)
		if v != tc.want || why != tc.why {
			t.Errorf("%+v: %v %q, want %v %q", tc.it, v, why, tc.want, tc.why)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestBulkDecoder reads Elasticsearch's responses as they are, and a
// ZincSearch response that stopped at a failing document: the last item it
// listed is that document.
func TestBulkDecoder(t *testing.T) {
	var blk esutil.BulkIndexerResponse
	es := `{"took":3,"errors":true,"items":[{"create":{"_index":"i","_id":"a","status":201}},{"create":{"_index":"i","_id":"b","status":400,"error":{"type":"mapper_parsing_exception","reason":"bad"}}}]}`
	if err := (bulkDecoder{}).UnmarshalFromReader(strings.NewReader(es), &blk); err != nil {
		t.Fatal(err)
	}
	if len(blk.Items) != 2 || !blk.HasErrors || blk.Items[1]["create"].Status != 400 || blk.Items[1]["create"].Error.Type != "mapper_parsing_exception" {
		t.Errorf("Elasticsearch response: %+v", blk)
	}
	zinc := `{"took":0,"errors":false,"error":"field [x] value [y] parse err","items":[{"index":{"_index":"i","_id":"a","status":200}},{"index":{"_index":"i","_id":"b","status":200}}]}`
	blk = esutil.BulkIndexerResponse{}
	if err := (bulkDecoder{}).UnmarshalFromReader(strings.NewReader(zinc), &blk); err != nil {
		t.Fatal(err)
	}
	if len(blk.Items) != 2 || blk.Items[0]["index"].Status != 200 || blk.Items[1]["index"].Status != 500 ||
		blk.Items[1]["index"].DocumentID != "b" || !strings.Contains(blk.Items[1]["index"].Error.Reason, "parse err") {
		t.Errorf("ZincSearch response: %+v", blk)
	}
	blk = esutil.BulkIndexerResponse{}
	if err := (bulkDecoder{}).UnmarshalFromReader(strings.NewReader(`{"error":"bulk index data format error","items":[]}`), &blk); err != nil {
		t.Fatal(err)
	}
	if len(blk.Items) != 1 || blk.Items[0]["create"].Status != 500 {
		t.Errorf("failure before any item: %+v", blk)
	}
}

func TestConfigValidate(t *testing.T) {
	if errs := DefaultConfig().Validate(); len(errs) > 0 {
		t.Fatalf("defaults: %v", errs)
	}
	c := DefaultConfig()
	c.URLs = []string{"localhost:9200", "ftp://x"}
	c.Index = "logs-{namespace}"
	c.Namespace = "Prod-1"
	c.Workers = 0
	c.FlushBytes = 10
	c.BatchRecords = 0
	c.RetryBackoff = 0
	c.MaxItemRetries = 0
	c.APIKey = config.Secret{Env: "X"}
	c.Username = "u"
	c.Password = config.Secret{Env: "Y"}
	c.TLS.CertFile = "c.pem"
	c.ILM = ILM{RolloverMaxAge: "1 month", RolloverMaxPrimaryShardSize: "big", DeleteAfter: "never"}
	errs := c.Validate()
	var all []string
	for _, e := range errs {
		all = append(all, e.Error())
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{
		`"localhost:9200" must be an http`, `"ftp://x" must be an http`, "must contain {dataset}", "namespace",
		"workers (0)", "flush_bytes (10)", "batch_records (0)", "retry_backoff", "max_item_retries (0)",
		"api_key or username and password", "cert_file and key_file", "ilm.rollover_max_age", "ilm.rollover_max_primary_shard_size", "ilm.delete_after",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no problem reported about %s in:\n%s", want, text)
		}
	}
	c = DefaultConfig()
	c.Index = "Logs-{dataset}"
	if errs := c.Validate(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "not a valid data stream name") {
		t.Errorf("uppercase index: %v", errs)
	}
}
