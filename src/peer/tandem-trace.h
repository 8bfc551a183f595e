/* tandem-trace.h: replaying recorded editing traces through the engine
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint64 events;
  guint64 runs;
  guint64 final_length;
  gboolean matches_end;
  double replay_ms;
  gint64 rss_growth_kb;
  gint64 peak_rss_kb;
  gsize engine_bytes;
} TandemTraceResult;

gboolean tandem_trace_replay (const char        *path,
                              guint              repeat,
                              TandemTraceResult *result,
                              GError           **error);

char    *tandem_trace_result_to_json (const char              *path,
                                      const TandemTraceResult *result);

G_END_DECLS
