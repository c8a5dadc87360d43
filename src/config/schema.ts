import { z } from 'zod';
import { COMMUNITY_ALGORITHMS, WEIGHT_KINDS } from '../model/atlas.js';

/**
 * The whole configuration, one flat section per part of the pipeline. Every field has a
 * default, documented in `config/config.yaml`. Unknown keys are errors (strict objects).
 * Env overrides map `VIEWERATLAS_<SECTION>_<KEY>` onto these, so sections stay one level deep.
 */
const isoInstant = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO date or instant');
const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

export const storageSchema = z.strictObject({
  driver: z.enum(['fs', 's3']).default('fs'),
  root: z.string().min(1).default('data'),
});

export const s3Schema = z
  .strictObject({
    bucket: z.string().default(''),
    prefix: z.string().default('vieweratlas/'),
    region: z.string().default('us-east-1'),
    endpoint: z.string().default(''),
    force_path_style: z.boolean().default(false),
    sse: z.enum(['AES256', 'aws:kms']).default('AES256'),
    kms_key_id: z.string().default(''),
    multipart_threshold_mb: positiveInt.default(16),
    max_attempts: positiveInt.default(5),
  })
  .superRefine((s3, ctx) => {
    // Caught here rather than by the first put: a key id without aws:kms is ignored by S3, and
    // S3-compatible servers (Ceph RGW) refuse aws:kms without a key id (only AWS has a default key).
    if (s3.sse === 'AES256' && s3.kms_key_id !== '')
      ctx.addIssue({
        code: 'custom',
        path: ['kms_key_id'],
        message: 'only used with sse "aws:kms" (sse is "AES256")',
      });
    if (s3.sse === 'aws:kms' && s3.kms_key_id === '' && s3.endpoint !== '')
      ctx.addIssue({
        code: 'custom',
        path: ['kms_key_id'],
        message: `required with sse "aws:kms" on an S3-compatible endpoint (${s3.endpoint}); only AWS itself has a default key`,
      });
  });

export const aggregateSchema = z.strictObject({
  window_start: isoInstant.nullable().default(null),
  window_end: isoInstant.nullable().default(null),
  min_messages: nonNegativeInt.default(1),
  min_buckets: positiveInt.default(1),
  min_viewers: nonNegativeInt.default(5),
  known_bots: z.boolean().default(true),
  extra_bots: z.array(z.string()).default([]),
  max_channel_share: z.number().gt(0).max(1).default(0.2),
  bot_min_channels: positiveInt.default(20),
});

export const overlapSchema = z.strictObject({
  weight: z.enum(WEIGHT_KINDS as [string, ...string[]]).default('overlap'),
  min_shared: positiveInt.default(2),
  min_weight: z.number().nonnegative().default(0),
  backbone: z.boolean().default(false),
  backbone_alpha: z.number().gt(0).lt(1).default(0.05),
});

export const communitiesSchema = z.strictObject({
  algorithm: z.enum(COMMUNITY_ALGORITHMS as [string, ...string[]]).default('leiden'),
  resolution: z.number().positive().default(1),
  seed: nonNegativeInt.default(42),
  hierarchy: z.boolean().default(true),
  significance: z.number().min(0).max(1).default(0.08),
  null_samples: positiveInt.default(3),
  max_depth: positiveInt.default(3),
  min_split_size: positiveInt.default(8),
  null_estimate: z.boolean().default(true),
  extra_resolutions: z.array(z.number().positive()).default([]),
  min_size: positiveInt.default(1),
});

export const labelsSchema = z.strictObject({
  max_games: positiveInt.default(2),
  max_languages: positiveInt.default(2),
  min_share: z.number().min(0).max(1).default(0.15),
  top_channels: positiveInt.default(10),
});

export const layoutSchema = z.strictObject({
  iterations: positiveInt.default(500),
  barnes_hut_above: nonNegativeInt.default(2000),
  barnes_hut_theta: z.number().positive().default(1.2),
  gravity: z.number().nonnegative().default(1),
  scaling_ratio: z.number().positive().default(30),
  strong_gravity: z.boolean().default(false),
  lin_log: z.boolean().default(true),
  seed: nonNegativeInt.default(42),
  worker: z.boolean().default(true),
  max_edges: positiveInt.default(150_000),
});

export const renderSchema = z.strictObject({
  png_width: positiveInt.default(4000),
  png_height: positiveInt.default(4000),
  channel_labels: nonNegativeInt.default(60),
  html_max_edges: positiveInt.default(100_000),
  title: z.string().default('ViewerAtlas'),
});

export const collectSchema = z.strictObject({
  chat_url: z.string().default('wss://irc-ws.chat.twitch.tv:443'),
  channels_file: z.string().default('channels.txt'),
  channels_per_connection: positiveInt.default(100),
  join_limit: positiveInt.default(20),
  join_window_seconds: z.number().positive().default(10),
  bucket_minutes: positiveInt.default(5),
  flush_seconds: z.number().positive().default(2),
  membership: z.boolean().default(true),
  collector_id: z.string().default(''),
  reconnect_min_ms: positiveInt.default(1000),
  reconnect_max_ms: positiveInt.default(60_000),
  token_env: z.string().default('TWITCH_CHAT_TOKEN'),
  login_env: z.string().default('TWITCH_CHAT_LOGIN'),
  status_seconds: z.number().positive().default(1),
  reload_seconds: nonNegativeInt.default(60),
});

export const discoverSchema = z.strictObject({
  helix_url: z.string().default('https://api.twitch.tv/helix'),
  auth_url: z.string().default('https://id.twitch.tv/oauth2'),
  max_channels: positiveInt.default(1000),
  min_viewers: nonNegativeInt.default(0),
  languages: z.array(z.string()).default([]),
  games: z.array(z.string()).default([]),
  max_retries: nonNegativeInt.default(5),
});

export const vodSchema = z.strictObject({
  downloader: z.string().default('TwitchDownloaderCLI'),
  raw_dir: z.string().default('vod_raw'),
  /** VODs created within this many days are listed; older queued ones are dropped. */
  max_age_days: positiveInt.default(7),
  /** Deprecated name of `max_age_days`; when set it wins. */
  window_days: positiveInt.optional(),
  /** Listed VODs with fewer Helix views are not queued. */
  min_views: nonNegativeInt.default(0),
  max_per_channel: positiveInt.default(5),
  bucket_minutes: positiveInt.default(5),
  /** Download attempts per queued VOD before it is given up. */
  max_attempts: positiveInt.default(3),
  /** Wait before the next attempt after a failed download; doubles with each failure. */
  retry_backoff_seconds: nonNegativeInt.default(600),
  /** The chat file after ingestion: keep it, move it into storage, delete it; auto = delete when privacy.pseudonymize is on, else keep. */
  raw_after_ingest: z.enum(['auto', 'keep', 'move', 'delete']).default('auto'),
});

export const privacySchema = z.strictObject({
  pseudonymize: z.boolean().default(false),
  key_env: z.string().default('VIEWERATLAS_PSEUDONYM_KEY'),
  retention_days: nonNegativeInt.default(0),
});

export const athenaSchema = z.strictObject({
  database: z.string().default('vieweratlas'),
  workgroup: z.string().default('vieweratlas'),
  output_location: z.string().default(''),
  region: z.string().default('us-east-1'),
  poll_ms: positiveInt.default(1000),
  endpoint: z.string().default(''),
});

export const shardSchema = z.strictObject({
  index: nonNegativeInt.default(0),
  count: positiveInt.default(1),
});

export const metricsSchema = z.strictObject({
  namespace: z.string().default('ViewerAtlas'),
  emf: z.boolean().default(true),
});

/** `vieweratlas run`: the single-machine service's schedules (seconds), window and status endpoint. */
export const runSchema = z.strictObject({
  discover_seconds: nonNegativeInt.default(1800),
  compact_seconds: nonNegativeInt.default(600),
  analyze_seconds: positiveInt.default(3600),
  first_analysis_seconds: positiveInt.default(600),
  window_hours: nonNegativeInt.default(168),
  status_port: nonNegativeInt.max(65535).default(7878),
  keep_releases: positiveInt.min(2).default(2),
});

export const configSchema = z.strictObject({
  preset: z.string().default('default'),
  storage: storageSchema.prefault({}),
  s3: s3Schema.prefault({}),
  aggregate: aggregateSchema.prefault({}),
  overlap: overlapSchema.prefault({}),
  communities: communitiesSchema.prefault({}),
  labels: labelsSchema.prefault({}),
  layout: layoutSchema.prefault({}),
  render: renderSchema.prefault({}),
  collect: collectSchema.prefault({}),
  discover: discoverSchema.prefault({}),
  vod: vodSchema.prefault({}),
  privacy: privacySchema.prefault({}),
  athena: athenaSchema.prefault({}),
  shard: shardSchema.prefault({}),
  metrics: metricsSchema.prefault({}),
  run: runSchema.prefault({}),
});

/** The resolved configuration every command receives. */
export type Config = z.infer<typeof configSchema> & {
  overlap: { weight: import('../model/atlas.js').WeightKind };
  communities: { algorithm: import('../model/atlas.js').CommunityAlgorithm };
};
/** What a config file, a preset or the environment may set: any subset. */
export type ConfigInput = z.input<typeof configSchema>;

export const SECTIONS = Object.keys(configSchema.shape).filter((k) => k !== 'preset') as Exclude<
  keyof Config,
  'preset'
>[];
