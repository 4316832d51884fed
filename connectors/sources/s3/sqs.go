package s3

// SQS mode.
//
// With mode: sqs the source does not list a bucket: it reads an SQS queue to
// which S3 announces new objects, and publishes each object announced. This
// is how Elastic's aws-s3 input works, and the mode to use for buckets that
// receive objects all the time: nothing is listed, objects may arrive in any
// key order, and each is read seconds after it is written.
//
//	mode: sqs
//	queue_url: https://sqs.eu-west-1.amazonaws.com/111122223333/vigil-cloudtrail
//	visibility_timeout: 5m   # the default
//	prefix: AWSLogs/         # optional: announced objects outside it are skipped
//	bucket: org-trail-logs   # optional: objects of other buckets are skipped
//
// The queue may receive, in any mix:
//   - S3 event notifications sent to the queue directly (the bucket's
//     notification configuration names the queue);
//   - the same through an SNS topic the queue subscribes to, with or without
//     raw message delivery;
//   - EventBridge "Object Created" events, from a rule whose target is the
//     queue (or an SNS topic the queue subscribes to).
//
// Only object creation announces objects: s3:TestEvent, deletions, restores
// and the other events are acknowledged (deleted from the queue) and
// skipped. Announced objects are skipped too, and their message deleted,
// when they lie outside the source's bucket or prefix, in a service folder
// of AWS's log layout that the source does not read (a cloudtrail source
// reads CloudTrail and CloudTrail-Insight, see Services), before since (by
// the date in the key, else the event's time), or are CloudTrail digest
// files.
//
// The source receives up to 10 messages at a time (long polling, 20s), with
// visibility_timeout as their visibility timeout, and works through them
// one by one: it publishes each object a message announces, its records
// committed together with the object's progress (in transactions of at most
// commit_records records), and deletes the message only once every object
// it announced is committed. Meanwhile, every half visibility timeout, it
// extends the visibility of each message of the batch not yet finished, so
// that a large object is not redelivered while it is read. A crash at any
// moment leaves the message on the queue: it is delivered again when its
// visibility timeout runs out, objects already committed are skipped and a
// partly published one resumes after its committed records, so no record is
// published twice. When the source stops, the messages it has not finished
// are made visible again at once.
//
// A message that fails is not deleted: it becomes visible again after the
// visibility timeout and is retried. That is the fate of a message whose
// body is not a notice vigil understands (logged with its message id and
// counted in vigil_source_errors_total{kind="notice"}), and of one whose
// object cannot be read (kind="read"). Give the queue a redrive policy with
// a dead-letter queue (maxReceiveCount 5, say): SQS then moves a message
// that keeps failing there, where it can be looked at and, once the cause is
// fixed, redriven. Without one, such a message comes back again and again
// until the queue's retention period ends. When Kafka fails, the source
// stops with an error, as in poll mode, and its messages come back to
// whoever runs it next.
//
// Besides the metrics of every source, SQS mode counts the messages it
// finished by outcome, vigil_source_sqs_messages_total{outcome="done",
// "ignored" or "left"}, and vigil_source_sqs_visibility_extensions_total;
// failed SQS requests count as vigil_source_errors_total{kind="queue"}.
//
// The queue's region is the one in its URL, else the source's region. A
// queue URL whose host is not one of AWS's public SQS endpoints (a VPC
// endpoint, LocalStack, ElasticMQ) is also where requests go;
// AWS_ENDPOINT_URL_SQS (or AWS_ENDPOINT_URL) overrides either. The queue is
// read with the source's own credentials (access_key_id, or the SDK's
// default chain; roles are for objects), which need sqs:ReceiveMessage,
// sqs:ChangeMessageVisibility and sqs:DeleteMessage on the queue, and
// kms:Decrypt on its key if it is encrypted with a customer-managed KMS key.

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilsec/vigil/connectors/sources/ingest"
	"github.com/vigilsec/vigil/streams"
)

// SQS receive parameters: the most SQS allows.
const (
	sqsMaxMessages = 10
	sqsWaitSeconds = 20
)

func init() {
	runSQS = func(ctx context.Context, s *Source) error { return s.runQueue(ctx) }
}

// runQueue publishes the objects announced on Config.QueueURL until ctx is
// done, then returns nil. Like poll mode, it goes on with a new writer
// after a Kafka error, and returns one when another process has taken the
// source over (fenced its writer): the messages it was working on are
// left on the queue, for redelivery.
func (s *Source) runQueue(ctx context.Context) error {
	client, err := s.sqsClient()
	if err != nil {
		return err
	}
	return ingest.KeepGoing(ctx, ingest.FromDeps(s.deps), ingest.Forever, &s.ready, func(ctx context.Context, w *ingest.Writer) error {
		return s.runQueueWith(ctx, client, w)
	})
}

// runQueueWith publishes the objects announced on the queue with w, until
// ctx is done or Kafka fails.
func (s *Source) runQueueWith(ctx context.Context, client *sqs.Client, w *ingest.Writer) error {
	s.log.Info("reading S3 notices from SQS", "queue", s.cfg.QueueURL, "visibility_timeout", s.cfg.VisibilityTimeout)
	q := s.newQueue(client, func(ctx context.Context, ref ObjectRef) error {
		s.stats.objectsFound.Add(1)
		s.stats.bytesFound.Add(ref.Size)
		return s.publishObject(ctx, w, ref)
	})
	if err := q.run(ctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("s3 source: %w", err)
	}
	return nil
}

// sqsClient returns a client for the queue, made from the source's AWS
// configuration (its credentials), with the region and endpoint of the
// queue URL (see the comment at the top of this file).
func (s *Source) sqsClient() (*sqs.Client, error) {
	u, err := url.Parse(s.cfg.QueueURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("s3 source: queue_url %q is not an http(s) URL", s.cfg.QueueURL)
	}
	region, public := queueRegion(u.Hostname())
	return sqs.NewFromConfig(s.aws, func(o *sqs.Options) {
		if region != "" {
			o.Region = region
		}
		if o.Region == "" {
			o.Region = "us-east-1"
		}
		if o.BaseEndpoint == nil && !public {
			o.BaseEndpoint = aws.String(u.Scheme + "://" + u.Host)
		}
	}), nil
}

var (
	// sqsPublicHost matches AWS's public SQS endpoints: sqs.<region>.
	// amazonaws.com and the legacy <region>.queue.amazonaws.com and
	// queue.amazonaws.com (us-east-1).
	sqsPublicHost = regexp.MustCompile(`^(?:sqs\.([a-z0-9-]+)|([a-z0-9-]+)\.queue|queue)\.amazonaws\.com(?:\.cn)?$`)
	// sqsOtherHost matches other AWS SQS hosts that name the region: FIPS
	// and VPC endpoints.
	sqsOtherHost = regexp.MustCompile(`(?:^|\.)sqs(?:-fips)?\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$`)
)

// queueRegion returns the region a queue URL's host names, if any, and
// whether the host is one of AWS's public SQS endpoints, which the SDK
// resolves by itself from the region.
func queueRegion(host string) (region string, public bool) {
	if m := sqsPublicHost.FindStringSubmatch(host); m != nil {
		switch {
		case m[1] != "":
			return m[1], true
		case m[2] != "":
			return m[2], true
		}
		return "us-east-1", true
	}
	if m := sqsOtherHost.FindStringSubmatch(host); m != nil {
		return m[1], false
	}
	return "", false
}

// queue receives notices from one SQS queue and publishes what they
// announce. It is used from one goroutine; it starts one of its own per
// batch to extend visibility.
type queue struct {
	client *sqs.Client
	url    string
	// visibility is the visibility timeout, in seconds, set on receipt and
	// on each extension; extensions happen every half of it.
	visibility int32
	// bucket, if not empty, is the only bucket whose objects are
	// published; prefix, the key prefix of those published; services,
	// the services of the log layout published (nil: all).
	bucket, prefix string
	services       map[string]bool
	// tooOld, if not nil, reports objects older than Config.Since.
	tooOld func(key string, modified time.Time) bool
	// publish publishes one object, committed with its progress, or skips
	// it if it is already done.
	publish func(context.Context, ObjectRef) error
	log     *slog.Logger

	errs       *prometheus.CounterVec // the source's errors, by kind
	messages   *prometheus.CounterVec // by outcome
	extensions prometheus.Counter

	// retryMin and retryMax bound the wait after a failed receive.
	retryMin, retryMax time.Duration
}

// newQueue returns the source's queue, publishing with publish.
func (s *Source) newQueue(client *sqs.Client, publish func(context.Context, ObjectRef) error) *queue {
	q := &queue{
		client:     client,
		url:        s.cfg.QueueURL,
		visibility: visibilitySeconds(s.cfg.VisibilityTimeout),
		bucket:     s.cfg.Bucket,
		prefix:     s.cfg.Prefix,
		services:   s.services,
		tooOld:     s.tooOld,
		publish:    publish,
		log:        s.log,
	}
	if s.metrics != nil {
		q.errs = s.metrics.Errors
	}
	return q.init(s.deps.Registerer)
}

// init fills in defaults and registers the queue's metrics with reg if it
// is not nil.
func (q *queue) init(reg prometheus.Registerer) *queue {
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	if q.visibility <= 0 {
		q.visibility = visibilitySeconds(0)
	}
	if q.retryMin <= 0 {
		q.retryMin = time.Second
	}
	if q.retryMax <= 0 {
		q.retryMax = time.Minute
	}
	if q.errs == nil {
		q.errs = ingest.NewMetrics(nil).Errors
	}
	q.messages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_source_sqs_messages_total",
		Help: "SQS messages an S3 source in SQS mode finished with, by outcome: done (its objects published, deleted), ignored (announced no new object, deleted), left (not understood or not published: left for redelivery and the queue's redrive policy).",
	}, []string{"outcome"})
	q.extensions = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vigil_source_sqs_visibility_extensions_total",
		Help: "Times an S3 source in SQS mode extended the visibility timeout of a message it was working on.",
	})
	if reg != nil {
		q.messages = streams.Register(reg, q.messages)
		q.extensions = streams.Register(reg, q.extensions)
	}
	return q
}

// visibilitySeconds converts a visibility timeout to what SQS takes: whole
// seconds from 2 (so that half of it is at least a second) to 12 hours.
// Zero means the default, 5 minutes.
func visibilitySeconds(d time.Duration) int32 {
	if d <= 0 {
		d = 5 * time.Minute
	}
	s := (d + time.Second - 1) / time.Second
	return int32(min(max(s, 2), 12*60*60))
}

// run receives and handles messages until ctx is done, then returns nil;
// it returns an error when publish fails on Kafka.
func (q *queue) run(ctx context.Context) error {
	wait := time.Duration(0)
	for ctx.Err() == nil {
		out, err := q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(q.url),
			MaxNumberOfMessages: sqsMaxMessages,
			WaitTimeSeconds:     sqsWaitSeconds,
			VisibilityTimeout:   q.visibility,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{
				types.MessageSystemAttributeNameApproximateReceiveCount,
			},
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			q.errs.WithLabelValues("queue").Inc()
			wait = min(max(2*wait, q.retryMin), q.retryMax)
			q.log.Error("receive from SQS failed", "queue", q.url, "retry_in", wait, "err", err)
			sleepCtx(ctx, wait)
			continue
		}
		wait = 0
		if err := q.handle(ctx, out.Messages); err != nil {
			return err
		}
	}
	return nil
}

// msgOutcome is what became of a message.
type msgOutcome int

const (
	msgDone    msgOutcome = iota // every object published: delete it
	msgIgnored                   // nothing to publish: delete it
	msgLeft                      // failed: leave it for redelivery
	msgStopped                   // interrupted: make it visible again now
)

// handle works through a batch of messages in order, extending the
// visibility of those not yet done meanwhile. It returns an error only when
// publish fails on Kafka.
func (q *queue) handle(ctx context.Context, msgs []types.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	b := &inflight{pending: slices.Clone(msgs)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		q.keepInvisible(ctx, b, stop)
	}()

	var fatal error
	for _, m := range msgs {
		if ctx.Err() != nil {
			break
		}
		o, err := q.process(ctx, m)
		if o == msgStopped {
			fatal = err
			break
		}
		b.finish(m)
		switch o {
		case msgDone, msgIgnored:
			q.delete(ctx, m, o)
		case msgLeft:
			q.messages.WithLabelValues("left").Inc()
		}
	}
	close(stop)
	wg.Wait()
	// What was not finished goes back to the queue at once, for this
	// process after a restart or for another.
	q.release(ctx, b.pending)
	return fatal
}

// process publishes what m announces.
func (q *queue) process(ctx context.Context, m types.Message) (msgOutcome, error) {
	id := aws.ToString(m.MessageId)
	n, err := parseNotice([]byte(aws.ToString(m.Body)))
	if err != nil {
		q.errs.WithLabelValues("notice").Inc()
		q.log.Error("SQS message is not an S3 notice; left on the queue for its redrive policy (dead-letter queue)",
			"queue", q.url, "message_id", id, "receive_count", receiveCount(m), "err", err)
		return msgLeft, nil
	}
	if len(n.Ignored) > 0 {
		q.log.Debug("SQS message announces events other than object creation; skipped", "message_id", id, "via", n.Via, "events", n.Ignored)
	}
	if len(n.Objects) == 0 {
		return msgIgnored, nil
	}
	for _, ref := range n.Objects {
		if !q.wanted(ref) {
			q.log.Debug("announced object is not the source's (bucket, prefix, service or since); skipped", "message_id", id, "bucket", ref.Bucket, "key", ref.Key)
			continue
		}
		if err := q.publish(ctx, ref); err != nil {
			if ctx.Err() != nil {
				return msgStopped, nil
			}
			if !IsRetryable(err) {
				// Kafka failed: the source stops, as in poll mode.
				return msgStopped, err
			}
			q.log.Warn("an announced object could not be published; message left for redelivery",
				"queue", q.url, "message_id", id, "receive_count", receiveCount(m), "bucket", ref.Bucket, "key", ref.Key, "err", err)
			return msgLeft, nil
		}
	}
	return msgDone, nil
}

// wanted reports whether an announced object is the source's to publish:
// in its bucket (if it names one), under its prefix, under AWS's log layout
// in a service folder it reads, and not older than since (publishObject
// skips CloudTrail digests).
func (q *queue) wanted(ref ObjectRef) bool {
	return (q.bucket == "" || ref.Bucket == q.bucket) && strings.HasPrefix(ref.Key, q.prefix) &&
		classify(ref.Key, q.services) != nodeSkip && (q.tooOld == nil || !q.tooOld(ref.Key, ref.Modified))
}

func (q *queue) delete(ctx context.Context, m types.Message, o msgOutcome) {
	_, err := q.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: m.ReceiptHandle})
	if err != nil {
		// The message comes back; its objects are done and are skipped.
		q.errs.WithLabelValues("queue").Inc()
		q.log.Warn("delete of a finished SQS message failed; it will be received again", "queue", q.url, "message_id", aws.ToString(m.MessageId), "err", err)
	}
	if o == msgDone {
		q.messages.WithLabelValues("done").Inc()
	} else {
		q.messages.WithLabelValues("ignored").Inc()
	}
}

// keepInvisible extends the visibility of the batch's pending messages
// every half visibility timeout until stop is closed.
func (q *queue) keepInvisible(ctx context.Context, b *inflight, stop <-chan struct{}) {
	t := time.NewTicker(time.Duration(q.visibility) * time.Second / 2)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Holding the lock keeps a message from being deleted while its
		// visibility is changed.
		b.mu.Lock()
		for _, m := range b.pending {
			_, err := q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(q.url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: q.visibility,
			})
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				q.errs.WithLabelValues("queue").Inc()
				q.log.Warn("extending the visibility of an SQS message failed; it may be received again, and its done objects skipped",
					"queue", q.url, "message_id", aws.ToString(m.MessageId), "err", err)
				continue
			}
			q.extensions.Inc()
		}
		b.mu.Unlock()
	}
}

// release makes msgs visible again at once.
func (q *queue) release(ctx context.Context, msgs []types.Message) {
	if len(msgs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, m := range msgs {
		_, err := q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(q.url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
		})
		if err != nil {
			q.log.Warn("returning an unfinished SQS message to the queue failed; it comes back after its visibility timeout",
				"queue", q.url, "message_id", aws.ToString(m.MessageId), "err", err)
		}
	}
}

// inflight holds the messages of a batch not yet finished, in the order
// received.
type inflight struct {
	mu      sync.Mutex
	pending []types.Message
}

func (b *inflight) finish(m types.Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = slices.DeleteFunc(b.pending, func(p types.Message) bool { return aws.ToString(p.ReceiptHandle) == aws.ToString(m.ReceiptHandle) })
}

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// receiveCount returns how many times m was received, or 0 if unknown.
func receiveCount(m types.Message) int {
	n, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	return n
}
