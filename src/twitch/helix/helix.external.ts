import { z } from 'zod';

/**
 * Helix and OAuth wire shapes, as Twitch's API reference documents them. Parsed here at the edge
 * with zod (loose objects: Twitch adds fields over time and we must not break on them); nothing
 * past `client.ts` sees these snake_case payloads.
 */

/** `POST /oauth2/token` (client credentials) → app access token. */
export const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z.number().nonnegative(),
  token_type: z.string(),
});
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

/** Error body Twitch sends with 4xx from OAuth and Helix: `{status, message}` (Helix adds `error`). */
export const errorBodySchema = z.looseObject({
  status: z.number().optional(),
  error: z.string().optional(),
  message: z.string().optional(),
});

/** `pagination` is `{}` on the last page and `{cursor}` otherwise. */
export const paginationSchema = z.looseObject({ cursor: z.string().optional() }).optional();

/** One entry of `GET /helix/streams`. */
export const streamSchema = z.looseObject({
  id: z.string(),
  user_id: z.string(),
  user_login: z.string(),
  user_name: z.string(),
  game_id: z.string(),
  game_name: z.string(),
  type: z.string(),
  title: z.string(),
  viewer_count: z.number(),
  started_at: z.string(),
  language: z.string(),
  thumbnail_url: z.string().optional(),
  tags: z.array(z.string()).nullable().optional(),
  is_mature: z.boolean().optional(),
});
export type HelixStream = z.infer<typeof streamSchema>;

export const streamsResponseSchema = z.looseObject({
  data: z.array(streamSchema),
  pagination: paginationSchema,
});

/** One entry of `GET /helix/games`. */
export const gameSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  box_art_url: z.string().optional(),
  igdb_id: z.string().optional(),
});
export type HelixGame = z.infer<typeof gameSchema>;
export const gamesResponseSchema = z.looseObject({ data: z.array(gameSchema) });

/** One entry of `GET /helix/users`. */
export const userSchema = z.looseObject({
  id: z.string(),
  login: z.string(),
  display_name: z.string(),
  type: z.string().optional(),
  broadcaster_type: z.string().optional(),
  created_at: z.string().optional(),
});
export type HelixUser = z.infer<typeof userSchema>;
export const usersResponseSchema = z.looseObject({ data: z.array(userSchema) });

/** One entry of `GET /helix/videos`; `duration` is Twitch's `3h8m33s` notation. */
export const videoSchema = z.looseObject({
  id: z.string(),
  stream_id: z.string().nullable().optional(),
  user_id: z.string(),
  user_login: z.string(),
  user_name: z.string(),
  title: z.string(),
  created_at: z.string(),
  published_at: z.string().optional(),
  url: z.string().optional(),
  view_count: z.number().optional(),
  language: z.string().optional(),
  type: z.string(),
  duration: z.string(),
});
export type HelixVideo = z.infer<typeof videoSchema>;
export const videosResponseSchema = z.looseObject({
  data: z.array(videoSchema),
  pagination: paginationSchema,
});
