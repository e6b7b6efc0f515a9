// Prometheus metrics (prom-client) on a Registry constructed by the caller; names follow
// Prometheus conventions: prefix certigate_, base units (_seconds), counters end in _total.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const MEMORY_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const RADIUS_BUCKETS = [0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 4];
const SIGMA_BUCKETS = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2];

export class GatewayMetrics {
  readonly requestDuration: Histogram<'route' | 'method' | 'status'>;
  readonly stageDuration: Histogram<'model' | 'stage'>;
  readonly decisions: Counter<'model' | 'norm' | 'answer' | 'action'>;
  readonly overlaps: Counter<'model' | 'norm' | 'action'>;
  readonly memoryRecords: Counter<'model' | 'norm'>;
  readonly memoryLastSeq: Gauge<'model' | 'norm'>;
  readonly radius: Histogram<'model' | 'norm'>;
  readonly sigma: Histogram<'model'>;
  readonly abstains: Counter<'model' | 'norm'>;
  readonly modelEvaluations: Counter<'model'>;
  readonly queueDepth: Gauge;
  readonly busyWorkers: Gauge;
  readonly inFlight: Gauge;
  readonly rejected: Counter<'reason'>;
  readonly natsPublished: Counter<'model'>;
  readonly natsPublishFailures: Counter<'model'>;
  readonly workerFailures: Counter;
  readonly memoryRegionOverlaps: Counter<'model' | 'norm'>;
  readonly memorySize: Gauge<'model' | 'norm'>;
  readonly memoryCandidates: Histogram<'model' | 'norm'>;
  readonly memoryFsyncDuration: Histogram<'model' | 'norm'>;
  readonly memoryMaintenanceDuration: Histogram<'model' | 'norm'>;
  readonly memoryGroupSize: Histogram<'model' | 'norm'>;
  readonly memoryQueueDepth: Gauge<'model' | 'norm'>;
  readonly memoryFailures: Counter<'model' | 'norm'>;

  constructor(readonly registry: Registry, options: { processMetrics?: boolean } = {}) {
    const registers = [registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'certigate_' });
    this.requestDuration = new Histogram({
      name: 'certigate_http_request_duration_seconds', help: 'HTTP request latency, from arrival until the response is handed to the server (for NDJSON streams: until the stream starts)',
      labelNames: ['route', 'method', 'status'], buckets: LATENCY_BUCKETS_S, registers,
    });
    this.stageDuration = new Histogram({
      name: 'certigate_stage_duration_seconds', help: 'Latency of one decision stage: sigma (data-dependent sigma search), certify (Monte Carlo certification), memory (sequential memory incl. fsync)',
      labelNames: ['model', 'stage'], buckets: LATENCY_BUCKETS_S.concat(MEMORY_BUCKETS_S).sort((a, b) => a - b).filter((v, i, a) => a.indexOf(v) === i), registers,
    });
    this.decisions = new Counter({
      name: 'certigate_decisions_total', help: 'Durable decisions by final answer (class label or "abstain") and memory action',
      labelNames: ['model', 'norm', 'answer', 'action'], registers,
    });
    this.overlaps = new Counter({
      name: 'certigate_memory_overlaps_total', help: 'Decisions whose certified region met an earlier region of another answer (memory action shrink or relabel)',
      labelNames: ['model', 'norm', 'action'], registers,
    });
    this.memoryRecords = new Counter({
      name: 'certigate_memory_records_appended_total', help: 'Records appended durably to the memory by this process',
      labelNames: ['model', 'norm'], registers,
    });
    this.memoryLastSeq = new Gauge({
      name: 'certigate_memory_last_seq', help: 'Highest memory sequence number seen (the memory holds last_seq + 1 records when seqs start at 0)',
      labelNames: ['model', 'norm'], registers,
    });
    this.radius = new Histogram({
      name: 'certigate_certified_radius', help: 'Certified radius after the memory, in the norm of the certificate (0 for abstains)',
      labelNames: ['model', 'norm'], buckets: RADIUS_BUCKETS, registers,
    });
    this.sigma = new Histogram({
      name: 'certigate_sigma', help: 'Smoothing sigma used for certification', labelNames: ['model'], buckets: SIGMA_BUCKETS, registers,
    });
    this.abstains = new Counter({
      name: 'certigate_abstains_total', help: 'Decisions answered with ABSTAIN (after the memory)', labelNames: ['model', 'norm'], registers,
    });
    this.modelEvaluations = new Counter({
      name: 'certigate_model_evaluations_total', help: 'Forward passes (single noisy inputs) of the base classifier', labelNames: ['model'], registers,
    });
    this.queueDepth = new Gauge({ name: 'certigate_queue_depth', help: 'Requests waiting for an engine worker', registers });
    this.busyWorkers = new Gauge({ name: 'certigate_engine_workers_busy', help: 'Engine worker threads evaluating a request now', registers });
    this.inFlight = new Gauge({ name: 'certigate_in_flight_requests', help: 'Requests admitted and not yet answered', registers });
    this.rejected = new Counter({
      name: 'certigate_rejected_requests_total', help: 'Requests refused: overloaded (429), deadline, shutting_down, or a client error code',
      labelNames: ['reason'], registers,
    });
    this.natsPublished = new Counter({
      name: 'certigate_nats_published_total', help: 'Decisions published on NATS', labelNames: ['model'], registers,
    });
    this.natsPublishFailures = new Counter({
      name: 'certigate_nats_publish_failures_total', help: 'Decisions that could not be published on NATS', labelNames: ['model'], registers,
    });
    this.memoryRegionOverlaps = new Counter({
      name: 'certigate_memory_overlapping_regions_total', help: 'Stored regions of another answer found in conflict with a new base ball: every one it lay in (relabel), at least the one that bounds it (shrink)',
      labelNames: ['model', 'norm'], registers,
    });
    this.memorySize = new Gauge({ name: 'certigate_memory_records', help: 'Records in the memory', labelNames: ['model', 'norm'], registers });
    this.memoryCandidates = new Histogram({
      name: 'certigate_memory_candidates', help: 'Stored records whose exact distance a decision computed (index candidates)',
      labelNames: ['model', 'norm'], buckets: [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000], registers,
    });
    this.memoryFsyncDuration = new Histogram({
      name: 'certigate_memory_fsync_duration_seconds', help: 'fsync of one group commit of the memory log',
      labelNames: ['model', 'norm'], buckets: MEMORY_BUCKETS_S, registers,
    });
    this.memoryMaintenanceDuration = new Histogram({
      name: 'certigate_memory_maintenance_duration_seconds', help: 'Merges of index segments run after a group was answered (decisions arriving meanwhile wait)',
      labelNames: ['model', 'norm'], buckets: MEMORY_BUCKETS_S, registers,
    });
    this.memoryGroupSize = new Histogram({
      name: 'certigate_memory_group_commit_records', help: 'Records made durable by one fsync',
      labelNames: ['model', 'norm'], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers,
    });
    this.memoryQueueDepth = new Gauge({ name: 'certigate_memory_queue_depth', help: 'Proposals waiting for the sequential memory', labelNames: ['model', 'norm'], registers });
    this.memoryFailures = new Counter({ name: 'certigate_memory_failures_total', help: 'Write or fsync failures of the memory log', labelNames: ['model', 'norm'], registers });
    this.workerFailures = new Counter({
      name: 'certigate_engine_worker_failures_total', help: 'Engine worker threads that crashed and were replaced', registers,
    });
  }
}
