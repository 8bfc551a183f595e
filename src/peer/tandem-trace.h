/* tandem-trace.h: replaying recorded editing traces through the engine
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  gboolean store;          /* in: also replay into a store and measure it */
  guint64 events;
  guint64 runs;
  guint64 final_length;
  gboolean matches_end;
  double replay_ms;
  gint64 rss_growth_kb;
  gint64 peak_rss_kb;
  gsize engine_bytes;
  double store_ms;
  guint commits;
  gint64 store_bytes;
  gint64 log_bytes;
  double text_load_ms;
  double load_ms;
  gint64 load_rss_kb;
  gsize load_engine_bytes;
  gboolean store_matches;
} TandemTraceResult;

gboolean tandem_trace_replay (const char        *path,
                              guint              repeat,
                              TandemTraceResult *result,
                              GError           **error);

char    *tandem_trace_result_to_json (const char              *path,
                                      const TandemTraceResult *result);

G_END_DECLS
